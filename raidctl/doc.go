// Package raidctl reads RAID controller cluster settings (controller and
// partner names, initiator IDs, logical drives, merge groups, cache policy)
// from vendor CLIs into one model, and validates that the two nodes'
// controllers form a consistent cluster pair.
package raidctl
