//go:build linux

package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hakit/hakit/blockio"
	"github.com/hakit/hakit/sbd"
	"github.com/hakit/hakit/tools/compare/report"
)

const beatWriterArg = "--internal-beat-writer"

// beatInterval is the agent's default sbd.heartbeat_ms; the watcher judges
// with the default heartbeat_dead_ms (4 intervals).
const beatInterval = 500 * time.Millisecond

// beatWriter is the frozen node of row 4: this program re-executed, beating
// in slot 1 of the device until killed.
func beatWriter(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "compare: "+beatWriterArg+" DEVICE")
		return 2
	}
	f, err := blockio.OpenFile(args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		return 1
	}
	b := &sbd.Beater{Disk: &sbd.Disk{Sectors: f}, Slots: sbd.Slots, Slot: 1, Name: "victim", Interval: beatInterval, Incarnation: uint64(os.Getpid())}
	_ = b.Run(context.Background())
	return 0
}

// sbdEnv keeps sbd's own options out of the environment and its
// Pacemaker, cluster and watchdog checks off.
func sbdEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SBD_") {
			env = append(env, kv)
		}
	}
	return append(env, "SBD_PACEMAKER=no", "SBD_SYNC_RESOURCE_STARTUP=no", "SBD_WATCHDOG_DEV=/dev/null")
}

// sbdWatchArgs: disk only (-PP no Pacemaker, -cc no cluster, -WW no
// watchdog) and debug mode 2 (-ZZ): a poison pill makes sbd exit instead of
// rebooting this machine, which is all that keeps the measurement safe.
func sbdWatchArgs(dev, pidfile string) []string {
	return []string{"-d", dev, "-n", "victim", "-P", "-P", "-c", "-c", "-W", "-W", "-Z", "-Z", "-p", pidfile, "watch"}
}

type loopDev struct{ dev, file string }

func newLoop(ctx context.Context, dir string) (*loopDev, error) {
	file := filepath.Join(dir, "sbd.img")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		return nil, err
	}
	if err := os.Truncate(file, 16<<20); err != nil {
		return nil, err
	}
	out, err := exec.CommandContext(ctx, "losetup", "-f", "--show", file).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("losetup: %v: %s", err, out)
	}
	return &loopDev{dev: strings.TrimSpace(string(out)), file: file}, nil
}

func (l *loopDev) close() { _ = exec.Command("losetup", "-d", l.dev).Run() }

// waitGone polls pid every millisecond until it exits.
func waitGone(ctx context.Context, pid int, within time.Duration) (time.Time, error) {
	end := time.Now().Add(within)
	for time.Now().Before(end) {
		if gone(pid) {
			return time.Now(), nil
		}
		if ctx.Err() != nil {
			return time.Time{}, ctx.Err()
		}
		time.Sleep(time.Millisecond)
	}
	return time.Time{}, fmt.Errorf("pid %d still running after %v", pid, within)
}

// readPID waits for a pid file.
func readPID(path string, within time.Duration) (int, error) {
	end := time.Now().Add(within)
	for {
		b, err := os.ReadFile(path)
		if err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
				return pid, nil
			}
		}
		if time.Now().After(end) {
			return 0, fmt.Errorf("no pid in %s after %v", path, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// sbdRig is the device both sides use, with the victim's slot.
type sbdRig struct {
	e    *env
	loop *loopDev
	disk *sbd.Disk
	slot int
}

func (r *sbdRig) clear(ctx context.Context) error {
	return r.disk.WriteMailbox(ctx, r.slot, sbd.Mailbox{})
}

// startSBD starts sbd watch for the victim and returns its inquisitor's
// pid once its servant has read the slot at least once.
func (r *sbdRig) startSBD(ctx context.Context) (int, error) {
	pidfile := filepath.Join(r.e.dir, "sbd.pid")
	_ = os.Remove(pidfile)
	cmd := exec.CommandContext(ctx, "sbd", sbdWatchArgs(r.loop.dev, pidfile)...)
	cmd.Env = sbdEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("sbd watch: %v: %s", err, out)
	}
	pid, err := readPID(pidfile, 10*time.Second)
	if err != nil {
		return 0, err
	}
	r.e.track(func() { killTreeOf(pid, "sbd") })
	return pid, settleWatch(ctx)
}

// settleWatch lets a slot watch start, then waits a random part of the
// loop timeout (1 s) so that the pill lands at a random phase of its
// reads, the same spread for both sides.
func settleWatch(ctx context.Context) error {
	return sleepCtx(ctx, 2*time.Second+rand.N(time.Second))
}

// startHakitWatch starts hwagent's slot watch for the victim.
func (r *sbdRig) startHakitWatch(ctx context.Context) (int, error) {
	cmd := exec.Command(r.e.hwagent, "sbd", "-d", r.loop.dev, "-n", "victim", "watch")
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	go func() { _ = cmd.Wait() }() // reaped as soon as it exits; gone() sees it
	pid := cmd.Process.Pid
	r.e.track(func() { killTreeOf(pid, "hwagent") })
	return pid, settleWatch(ctx)
}

// pill writes a reset into the victim's slot with the given fencer command
// and times the victim's exit from the moment the fencer started.
func (r *sbdRig) pill(ctx context.Context, victim int, fencer *exec.Cmd) (time.Duration, error) {
	start := time.Now()
	if err := fencer.Start(); err != nil {
		return 0, err
	}
	defer func() { _ = fencer.Process.Kill(); _ = fencer.Wait() }()
	at, err := waitGone(ctx, victim, 15*time.Second)
	if err != nil {
		killTree(victim)
		return 0, err
	}
	return at.Sub(start), nil
}

func (r *sbdRig) fencer(hakit bool, msg string) *exec.Cmd {
	if hakit {
		return exec.Command(r.e.hwagent, "sbd", "-d", r.loop.dev, "-n", "fencer", "message", "victim", msg)
	}
	c := exec.Command("sbd", "-d", r.loop.dev, "-n", "fencer", "message", "victim", msg)
	c.Env = sbdEnv()
	return c
}

// frozenSBD: sbd has no peer heartbeat on the disk; a fencer takes a
// frozen peer for dead when `sbd message` returns, after msgwait.
func (r *sbdRig) frozenSBD(ctx context.Context) (time.Duration, error) {
	pid, err := r.startSBD(ctx)
	if err != nil {
		return 0, err
	}
	signalTree(pid, syscall.SIGSTOP)
	defer func() {
		killTree(pid) // SIGKILL while stopped: it never reads the pill
		_, _ = waitGone(context.Background(), pid, 5*time.Second)
	}()
	f := r.fencer(false, "reset")
	start := time.Now()
	if out, err := f.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("sbd message: %v: %s", err, out)
	}
	return time.Since(start), nil
}

// frozenHakit: the disk heartbeat sees a frozen writer dead.
func (r *sbdRig) frozenHakit(ctx context.Context) (time.Duration, error) {
	w := exec.Command(r.e.self, beatWriterArg, r.loop.dev)
	if err := w.Start(); err != nil {
		return 0, err
	}
	defer func() {
		_ = w.Process.Signal(syscall.SIGCONT)
		_ = w.Process.Kill()
		_ = w.Wait()
	}()
	ch := make(chan sbd.Liveness, 16)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	b := &sbd.Beater{Disk: r.disk, Slots: sbd.Slots, Slot: 0, Name: "fencer", Interval: beatInterval, Incarnation: uint64(time.Now().UnixNano()),
		OnChange: func(slot int, _ sbd.Beat, _, to sbd.Liveness, _ time.Time) {
			if slot == 1 {
				select {
				case ch <- to:
				default:
				}
			}
		}}
	done := make(chan struct{})
	go func() { defer close(done); _ = b.Run(wctx) }()
	defer func() { cancel(); <-done }()
	wait := func(want sbd.Liveness) error {
		t := time.NewTimer(15 * time.Second)
		defer t.Stop()
		for {
			select {
			case v := <-ch:
				if v == want {
					return nil
				}
			case <-t.C:
				return fmt.Errorf("disk heartbeat: no %v within 15s", want)
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	if err := wait(sbd.Alive); err != nil {
		return 0, err
	}
	if err := w.Process.Signal(syscall.SIGSTOP); err != nil {
		return 0, err
	}
	start := time.Now()
	if err := wait(sbd.Dead); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

func sbdRow(ctx context.Context, e *env) (report.Row, error) {
	row := report.Row{ID: "4", Title: "Disk heartbeat and poison pill on one loop device", Peer: "sbd 1.5.2",
		HakitConfig: fmt.Sprintf("poison pill: hwagent sbd watch (reads its slot every loop timeout of the header, as the agent does) and hwagent sbd message; frozen peer: the agent's disk heartbeat (sbd.Beater) at heartbeat_ms %d, dead after 4 intervals (the defaults); the writer frozen with SIGSTOP", beatInterval.Milliseconds()),
		PeerConfig:  "sbd create with its defaults (watchdog 5 s, allocate 2 s, loop 1 s, msgwait 10 s); sbd watch -P -P -c -c -W -W -Z -Z (disk only, no watchdog, debug mode 2: a pill makes it exit, not reboot) and sbd message; frozen peer: sbd has no peer heartbeat, so the figure is sbd message reset to a SIGSTOPped sbd watch returning (msgwait)",
	}
	if err := need("sbd", "losetup"); err != nil {
		row.Missing = err.Error()
		return row, nil
	}
	loop, err := newLoop(ctx, e.dir)
	if err != nil {
		return row, err
	}
	defer loop.close()
	for _, args := range [][]string{{"create"}, {"allocate", "victim"}, {"allocate", "fencer"}} {
		c := exec.CommandContext(ctx, "sbd", append([]string{"-d", loop.dev}, args...)...)
		c.Env = sbdEnv()
		if out, err := c.CombinedOutput(); err != nil {
			return row, fmt.Errorf("sbd %s: %v: %s", args[0], err, out)
		}
	}
	f, err := blockio.OpenFile(loop.dev)
	if err != nil {
		return row, err
	}
	defer f.Close()
	r := &sbdRig{e: e, loop: loop, disk: &sbd.Disk{Sectors: f, Name: loop.dev}}
	h, err := r.disk.Header(ctx)
	if err != nil {
		return row, err
	}
	if r.slot, err = r.disk.Lookup(ctx, h, "victim"); err != nil {
		return row, err
	}
	pill := report.Metric{Name: "poison pill to the victim's reaction (its exit)", Unit: "ms"}
	frozen := report.Metric{Name: "frozen peer seen dead", Unit: "ms"}
	for t := range e.trials {
		for _, hakit := range []bool{true, false} {
			side := "sbd"
			if hakit {
				side = "hakit"
			}
			e.say("row 4: %s trial %d/%d", side, t+1, e.trials)
			if err := r.clear(ctx); err != nil {
				return row, err
			}
			var victim int
			if hakit {
				victim, err = r.startHakitWatch(ctx)
			} else {
				victim, err = r.startSBD(ctx)
			}
			if err != nil {
				return row, err
			}
			d, err := r.pill(ctx, victim, r.fencer(hakit, "reset"))
			if err != nil {
				return row, fmt.Errorf("%s pill: %w", side, err)
			}
			if err := r.clear(ctx); err != nil {
				return row, err
			}
			var fz time.Duration
			if hakit {
				fz, err = r.frozenHakit(ctx)
			} else {
				fz, err = r.frozenSBD(ctx)
			}
			if err != nil {
				return row, fmt.Errorf("%s frozen: %w", side, err)
			}
			if hakit {
				pill.Hakit, frozen.Hakit = append(pill.Hakit, msf(d)), append(frozen.Hakit, msf(fz))
			} else {
				pill.Peer, frozen.Peer = append(pill.Peer, msf(d)), append(frozen.Peer, msf(fz))
			}
		}
	}
	if err := r.clear(ctx); err != nil {
		return row, err
	}
	row.Metrics = []report.Metric{pill, frozen}
	return row, nil
}
