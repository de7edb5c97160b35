// Package tools holds development and lab programs: the demo rig driver
// (tools/demo) and, later, the QEMU lab (tools/lab).
package tools
