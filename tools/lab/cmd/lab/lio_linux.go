package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hakit/hakit/tools/lab"
)

// The iSCSI target LIO exports inside node A, and the two initiator names
// hakit's own commands use as nodes A and B (each its own I_T nexus).
const (
	lioIQN      = "iqn.2026-11.io.hakit.lab:lio"
	lioInitA    = "iqn.2026-11.io.hakit.lab:node-a"
	lioInitB    = "iqn.2026-11.io.hakit.lab:node-b"
	lioSerial   = "6001405f0e1d2c3b4a5968778695a4b3" // the backstore's unit serial (guest lio iscsi)
	lioAPTPLDir = "/tmp/lio-db/pr"
)

// lioISCSI runs hakit disk and hakit sg against LIO's iSCSI fabric inside
// node A, over hakit's userspace initiator, as two nodes (two initiator
// names): both register, A reserves Write Exclusive Registrants Only, B
// fences A with PREEMPT AND ABORT, A's writes conflict; READ FULL STATUS
// shows both nexuses by TransportID; REGISTER with APTPL is kept in LIO's
// database.
func lioISCSI(ctx context.Context, n *lab.Node) (string, error) {
	out, err := do(ctx, n, 0, "hakit", "lio", "iscsi", lioIQN, lioInitA, lioInitB)
	if err != nil {
		return "", err
	}
	url := strings.TrimSpace(out)
	diskAs := func(init, cmd string, flags ...string) []string {
		return append(append([]string{"hakit", "disk", cmd, "--initiator", init}, flags...), url)
	}
	sgAs := func(init string, args ...string) []string {
		return append([]string{"hakit", "sg", "--initiator", init, url}, args...)
	}
	const keyA, keyB, keyAPTPL = "0xa2", "0xb2", "0x33"
	worst, err := steps(ctx, []step{
		{n, 0, sgAs(lioInitA, "tur")}, {n, 0, sgAs(lioInitB, "tur")},
		{n, 0, diskAs(lioInitA, "register", "--key", keyA)},
		{n, 0, diskAs(lioInitB, "register", "--key", keyB)},
		{n, 0, diskAs(lioInitA, "reserve", "--key", keyA, "--type", "we-ro")},
		{n, 0, sgAs(lioInitA, "write")},
		{n, 0, sgAs(lioInitB, "write")}, // a registrant may write under we-ro
	})
	if err != nil {
		return "", err
	}
	before, err := do(ctx, n, 0, sgAs(lioInitB, "fullstatus")...)
	if err != nil {
		return "", err
	}
	for _, want := range []string{"key=" + keyA + " holder=true", "initiator=" + lioInitA, "key=" + keyB, "initiator=" + lioInitB} {
		if !strings.Contains(before, want) {
			return "", fmt.Errorf("READ FULL STATUS before the fence: %q lacks %q", before, want)
		}
	}
	t := time.Now()
	fence, err := do(ctx, n, 0, diskAs(lioInitB, "fence", "--key", keyB, "--victim", keyA, "--type", "we-ro")...)
	if err != nil {
		return "", err
	}
	fenceTook := time.Since(t)
	if !strings.Contains(fence, "with PREEMPT AND ABORT") || strings.Contains(fence, "fallback") {
		return "", fmt.Errorf("hakit disk fence did not use PREEMPT AND ABORT: %s", fence)
	}
	// A's nexus keeps its ACL across sessions: its next command gets the
	// unit attention REGISTRATIONS PREEMPTED.
	ua, err := do(ctx, n, codeUnitAttention, sgAs(lioInitA, "tur")...)
	if err != nil {
		return "", err
	}
	if _, err := steps(ctx, []step{
		{n, 24, sgAs(lioInitA, "write")},
		{n, 0, sgAs(lioInitB, "write")},
	}); err != nil {
		return "", err
	}
	keys, err := do(ctx, n, 0, diskAs(lioInitB, "keys")...)
	if err != nil {
		return "", err
	}
	if strings.Contains(keys, keyA) || !strings.Contains(keys, keyB) {
		return "", fmt.Errorf("after the fence hakit disk keys shows %q, want only %s", keys, keyB)
	}
	after, err := do(ctx, n, 0, sgAs(lioInitB, "fullstatus")...)
	if err != nil {
		return "", err
	}
	if countLines(after, "key=") != 1 || !strings.Contains(after, "key="+keyB+" holder=true") {
		return "", fmt.Errorf("READ FULL STATUS after the fence: %q, want only %s, holding", after, keyB)
	}
	// A registers again with APTPL: LIO writes the registrations to its
	// database, naming the initiator.
	if _, err := do(ctx, n, 0, sgAs(lioInitA, "register-aptpl", keyAPTPL)...); err != nil {
		return "", err
	}
	caps, err := do(ctx, n, 0, sgAs(lioInitB, "caps")...)
	if err != nil {
		return "", err
	}
	if !strings.Contains(caps, "ptpl_a=true") {
		return "", fmt.Errorf("after REGISTER with APTPL, REPORT CAPABILITIES says %q, want ptpl_a=true", caps)
	}
	db, err := do(ctx, n, 0, "cat", lioAPTPLDir+"/aptpl_"+lioSerial)
	if err != nil {
		return "", err
	}
	if !strings.Contains(db, lioInitA) || !strings.Contains(db, lioInitB) {
		return "", fmt.Errorf("LIO's APTPL file lacks the initiators: %q", db)
	}
	if _, err := do(ctx, n, 0, diskAs(lioInitB, "clear", "--key", keyB, "--yes")...); err != nil {
		return "", err
	}
	return fmt.Sprintf("LIO iSCSI (%s, initiators node-a/node-b): READ FULL STATUS shows both I_T nexuses (%s), B fences A with PREEMPT AND ABORT in %v, A's next command gets %q, A's write conflicts, A's key gone; APTPL register accepted (ptpl_a=true, %d lines in LIO's APTPL file); slowest step %v",
		url, strings.Join(fields(before, "initiator="), ", "), fenceTook.Round(time.Millisecond), afterLast(strings.TrimSpace(ua), "CHECK CONDITION, "), strings.Count(db, "\n"), worst.Round(time.Millisecond)), nil
}

// fields returns the values of the key=value fields named key in s, in order.
func fields(s, key string) []string {
	var out []string
	for _, f := range strings.Fields(s) {
		if v, ok := strings.CutPrefix(f, key); ok {
			out = append(out, v)
		}
	}
	return out
}

// afterLast returns what follows the last sep in s, or s without one.
func afterLast(s, sep string) string {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[i+len(sep):]
	}
	return s
}
