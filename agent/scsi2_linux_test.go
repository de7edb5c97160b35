package agent_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hakit/hakit/agent"
)

// scsi2Disk is a keyless disk as hw.SCSI2Disk reports it: Registered and
// Owner only while held; it records the time each fence was given.
type scsi2Disk struct {
	mu       sync.Mutex
	held     bool
	epoch    uint32
	fenceGot time.Duration
}

func (d *scsi2Disk) Device() string { return "lun2" }
func (d *scsi2Disk) Mode() string   { return agent.ModeSCSI2 }

// ActionTimeout is far above the agent's default action time (4 s here).
func (d *scsi2Disk) ActionTimeout() time.Duration { return 30 * time.Second }

func (d *scsi2Disk) set(held bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.held = held
	d.epoch++
}

func (d *scsi2Disk) Generation(context.Context) (uint32, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.epoch, nil
}

func (d *scsi2Disk) Status(context.Context) (agent.DiskStatus, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return agent.DiskStatus{Device: "lun2", Mode: agent.ModeSCSI2, Keys: []string{}, Registered: d.held, Owner: d.held, Generation: d.epoch}, nil
}

func (d *scsi2Disk) Register(context.Context) error { return nil }
func (d *scsi2Disk) Unfence(context.Context) error  { return nil }
func (d *scsi2Disk) Acquire(context.Context) error  { d.set(true); return nil }
func (d *scsi2Disk) Release(context.Context) error  { d.set(false); return nil }

func (d *scsi2Disk) Fence(ctx context.Context) error {
	dl, _ := ctx.Deadline()
	d.mu.Lock()
	d.fenceGot = time.Until(dl)
	d.mu.Unlock()
	d.set(true)
	return nil
}

// A scsi2 disk through the agent: a release forgets the claim (the disk
// shows Registered false afterwards, by this node's own hand: no
// self-fence); a lost reservation self-fences; an unfence clears the
// fenced state on a readable scsi2 disk (no key to put back); a fence gets
// the disk's ActionTimeout, not the default action time.
func TestAgentSCSI2Disk(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dir := t.TempDir()
	d := &scsi2Disk{}
	n := startNode(t, testConfig(t, dir, "a", "b", 1, 2), agent.Deps{Disks: []agent.Disk{d}})
	fenced := func() bool {
		s, err := n.client.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return s.Fenced
	}
	if _, err := n.client.Action(ctx, "acquire"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // watcher rounds
	if _, err := n.client.Action(ctx, "release"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if fenced() {
		t.Fatal("a release of a scsi2 disk self-fenced the node")
	}
	res, err := n.client.Fence(ctx, "b")
	if err != nil {
		t.Fatalf("fence: %v", err)
	}
	d.mu.Lock()
	got := d.fenceGot
	d.mu.Unlock()
	if got < 25*time.Second {
		t.Errorf("fence had %v, want about the disk's ActionTimeout of 30 s", got)
	}
	if len(res.Disks) != 1 || !res.Disks[0].Owner || res.Disks[0].Mode != agent.ModeSCSI2 {
		t.Errorf("fence result %+v", res)
	}
	time.Sleep(300 * time.Millisecond)
	d.set(false) // the defend loop found the reservation lost
	waitFor(t, "self-fence on a lost scsi2 reservation", fenced)
	if _, err := n.client.Action(ctx, "acquire"); err == nil {
		t.Error("acquire while fenced succeeded")
	}
	if _, err := n.client.Action(ctx, "unfence"); err != nil {
		t.Fatalf("unfence: %v", err)
	}
	if fenced() {
		t.Error("still fenced after an unfence read back without error")
	}
	if _, err := n.client.Action(ctx, "acquire"); err != nil {
		t.Errorf("acquire after unfence: %v", err)
	}
}
