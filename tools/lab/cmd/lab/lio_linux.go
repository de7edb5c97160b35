package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/agent/hw"
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
	luns, err := lioTwoLUNs(ctx, n, url)
	if err != nil {
		return "", err
	}
	return luns + "; " + fmt.Sprintf("LIO iSCSI (%s, initiators node-a/node-b): READ FULL STATUS shows both I_T nexuses (%s), B fences A with PREEMPT AND ABORT in %v, A's next command gets %q, A's write conflicts, A's key gone; APTPL register accepted (ptpl_a=true, %d lines in LIO's APTPL file); slowest step %v",
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

// lioAgentConfig is node i's hwagent.yaml for the two-LUN test: LUNs 0 and
// 1 of LIO's target, one initiator name, no heartbeat paths.
func lioAgentConfig(i int, url0 string) string {
	self, peer := agentNodes[i], agentNodes[1-i]
	init := [2]string{lioInitA, lioInitB}[i]
	base := strings.TrimSuffix(url0, "/0")
	var b strings.Builder
	fmt.Fprintf(&b, "node: {name: %s, id: %d}\npeer: {name: %s, id: %d}\ncluster: {id: %d, name: lio}\ndisks:\n", self.name, self.id, peer.name, peer.id, agentCluster)
	for lun := range 2 {
		fmt.Fprintf(&b, "  - device: %s/%d\n    initiator: %s\n", base, lun, init)
	}
	fmt.Fprintf(&b, "timers: {disk_status_ms: %d}\napi: {socket: /run/hakit/lio-%s.sock}\nstate_dir: /run/hakit/lio-%s-state\nself_fence: {action: event}\n", agentDiskPeriod, self.name, self.name)
	return b.String()
}

// lioTwoLUNs runs two agents inside node A, as node-a and node-b, on LUNs
// 0 and 1 of LIO's iSCSI target, each with one initiator name: each agent
// logs in once for both LUNs (LIO lists one session per initiator), holds
// for lioHold with no reconnect, and node-b's fence removes node-a's key
// from both LUNs.
func lioTwoLUNs(ctx context.Context, n *lab.Node, url0 string) (string, error) {
	const hold = 15 * time.Second
	var cfgPath, logPath [2]string
	cmd := func(i int, c string, flags ...string) []string {
		return append([]string{"hakit", "hwagent", c, "--config", cfgPath[i]}, flags...)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		for i := range 2 {
			_ = stop(cctx, n, strings.Join(cmd(i, "run"), " "))
		}
		// node-b's key is the one left on both LUNs after the fence.
		cfg, err := agent.ParseConfig("lio", []byte(lioAgentConfig(1, url0)))
		if err != nil {
			return
		}
		own, _, err := hw.Keys(cfg)
		if err != nil {
			return
		}
		for _, d := range cfg.Disks {
			_, _ = do(cctx, n, 0, "hakit", "disk", "clear", "--initiator", lioInitB, "--key", own.String(), "--yes", d.Device)
		}
	}()
	for i := range 2 {
		name := agentNodes[i].name
		cfgPath[i], logPath[i] = "/etc/hakit/lio-"+name+".yaml", "/tmp/lio-"+name+".log"
		if r, err := n.RunInput(ctx, []byte(lioAgentConfig(i, url0)), "hakit", "put", cfgPath[i]); err != nil || r.Code != 0 {
			return "", fmt.Errorf("write %s: %v %s", cfgPath[i], err, r.Stderr)
		}
		if _, err := n.StartBackground(ctx, logPath[i], cmd(i, "run")...); err != nil {
			return "", err
		}
	}
	disks := func(i int) ([]agent.DiskStatus, error) {
		out, err := do(ctx, n, 0, cmd(i, "disks", "--json")...)
		if err != nil {
			return nil, err
		}
		var doc struct {
			Disks []agent.DiskStatus `json:"disks"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Disks) != 2 {
			return nil, fmt.Errorf("%s: hwagent disks --json: want 2 disks: %v: %s", agentNodes[i].name, err, out)
		}
		return doc.Disks, nil
	}
	deadline := time.Now().Add(30 * time.Second)
	for i := range 2 {
		for {
			if r, err := n.Run(ctx, cmd(i, "status", "--json")...); err == nil && r.Code == 0 {
				break
			}
			if time.Now().After(deadline) {
				return "", fmt.Errorf("%s's agent does not answer: %s", agentNodes[i].name, tailOf(ctx, n, logPath[i]))
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	if _, err := steps(ctx, []step{{n, 0, cmd(0, "register")}, {n, 0, cmd(1, "register")}, {n, 0, cmd(0, "acquire")}}); err != nil {
		return "", err
	}
	start, reads := time.Now(), 0
	for time.Since(start) < hold {
		for i := range 2 {
			ds, err := disks(i)
			if err != nil {
				return "", err
			}
			reads++
			for _, d := range ds {
				if d.Error != "" || !d.Registered || !d.PeerRegistered || d.Owner != (i == 0) {
					return "", fmt.Errorf("%v into the hold, %s reads %s: %+v: want both keys registered and node-a holding", time.Since(start).Round(time.Millisecond), agentNodes[i].name, d.Device, d)
				}
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	// One session per initiator at LIO, shared by both LUNs, and none
	// re-established.
	var sessions [2]int
	for i, in := range []string{lioInitA, lioInitB} {
		info, err := do(ctx, n, 0, "cat", "/sys/kernel/config/target/iscsi/"+lioIQN+"/tpgt_1/acls/"+in+"/info")
		if err != nil {
			return "", err
		}
		if sessions[i] = countLines(info, "LIO Session ID"); sessions[i] != 1 {
			return "", fmt.Errorf("LIO lists %d sessions of %s, want 1 shared by both LUNs:\n%s", sessions[i], in, info)
		}
		if c := count(ctx, n, logPath[i], "iscsi reconnected"); c != 0 {
			return "", fmt.Errorf("%s's agent reconnected %d times during the hold: %s", agentNodes[i].name, c, tailOf(ctx, n, logPath[i]))
		}
	}
	t := time.Now()
	if _, err := do(ctx, n, 0, cmd(1, "fence", "node-a")...); err != nil {
		return "", err
	}
	fenceTook := time.Since(t)
	ds, err := disks(1)
	if err != nil {
		return "", err
	}
	for _, d := range ds {
		if d.PeerRegistered || !d.Owner {
			return "", fmt.Errorf("after node-b's fence, %s: %+v: want node-a's key gone and node-b holding", d.Device, d)
		}
	}
	return fmt.Sprintf("two agents on LUNs 0 and 1 of one LIO target (one initiator name each): %d reads in %v, node-a holding both, 0 reconnects, LIO lists 1 session per initiator; node-b fenced node-a off both LUNs in %v",
		reads, hold, fenceTook.Round(time.Millisecond)), nil
}

// tailOf is the last lines of a guest file, for error messages.
func tailOf(ctx context.Context, n *lab.Node, path string) string {
	r, err := n.Run(ctx, "cat", path)
	if err != nil {
		return err.Error()
	}
	return lastLines(r.Stdout, 15)
}
