// Package tools holds development and lab programs: the rig demo behind
// make demo (tools/demo), the two-node QEMU lab behind make lab (tools/lab),
// hakit against the peers a user would pick instead behind make compare
// (tools/compare), and the deps, bench and fuzz scripts the Makefile calls.
package tools
