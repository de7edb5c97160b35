package main

import (
	"encoding/binary"
	"testing"
)

// acctRec is one acct_v3 record of pid (its process id), ppid and comm.
func acctRec(pid, ppid uint32, comm string) []byte {
	r := make([]byte, acctRecordSize)
	r[1] = 3
	binary.LittleEndian.PutUint32(r[16:], pid)
	binary.LittleEndian.PutUint32(r[20:], ppid)
	copy(r[48:], comm)
	return r
}

func TestAcctProcesses(t *testing.T) {
	const self, child = 100, 105
	var b []byte
	for _, r := range [][]byte{
		acctRec(self, 1, "hakit"),      // a thread of this process
		acctRec(101, self, "hakit"),    // os/exec's pidfd probe
		acctRec(110, child, "sg_turs"), // argv's children
		acctRec(111, child, "sg_persist"),
		acctRec(112, child, "sg_turs"),
		acctRec(child, self, "fence_scsi"),
		acctRec(child, self, "fence_scsi"), // a second thread of argv
	} {
		b = append(b, r...)
	}
	n, comms := acctProcesses(b, self, child)
	if n != 4 || comms != "sg_turs*2,sg_persist,fence_scsi" {
		t.Errorf("acctProcesses = %d, %q; want 4, sg_turs*2,sg_persist,fence_scsi", n, comms)
	}
	if n, comms := acctProcesses(nil, self, child); n != 0 || comms != "" {
		t.Errorf("no records: %d, %q", n, comms)
	}
}
