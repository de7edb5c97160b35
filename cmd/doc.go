// Package cmd holds hakit's thin mains: hwagent (the node-local daemon and
// its client subcommands), hwcheck (install-time diagnostics) and
// fence_hwagent (a fence agent for Pacemaker).
package cmd
