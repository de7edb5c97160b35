package sbd_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hakit/hakit/blockio"
	"github.com/hakit/hakit/sbd"
)

const writerEnv = "HAKIT_SBD_BEAT_WRITER"

// TestHelperBeatWriter is the frozen node of TestIntegrationBeatFrozen: a
// child process that beats in slot 1 until killed.
func TestHelperBeatWriter(t *testing.T) {
	path := os.Getenv(writerEnv)
	if path == "" {
		t.Skip("helper process of TestIntegrationBeatFrozen")
	}
	f, err := blockio.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b := &sbd.Beater{Disk: &sbd.Disk{Sectors: f}, Slots: sbd.Slots, Slot: 1, Name: "node-b", Interval: 500 * time.Millisecond, Incarnation: uint64(os.Getpid())}
	_ = b.Run(context.Background())
}

// startWriter starts the child writer on path.
func startWriter(t testing.TB, path string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperBeatWriter$")
	cmd.Env = append(os.Environ(), writerEnv+"="+path)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGCONT)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

// watchPeer runs this node's Beater (slot 0) and sends slot 1's verdicts.
func watchPeer(t testing.TB, ctx context.Context, path string, interval time.Duration) <-chan sbd.Liveness {
	t.Helper()
	f, err := blockio.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	ch := make(chan sbd.Liveness, 16)
	b := &sbd.Beater{Disk: &sbd.Disk{Sectors: f}, Slots: sbd.Slots, Slot: 0, Name: "node-a", Interval: interval, Incarnation: 1,
		OnChange: func(slot int, _ sbd.Beat, _, to sbd.Liveness, _ time.Time) {
			if slot == 1 {
				ch <- to
			}
		}}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = b.Run(ctx) }()
	t.Cleanup(wg.Wait)
	return ch
}

func sbdFile(t testing.TB) string {
	t.Helper()
	// t.TempDir is on the test machine's disk (ext4 here), where O_DIRECT
	// works; tmpfs would refuse it.
	p := filepath.Join(t.TempDir(), "sbd.img")
	if err := os.WriteFile(p, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	if f, err := blockio.OpenFile(p); err != nil {
		t.Skipf("O_DIRECT on %s: %v", p, err)
	} else {
		f.Close()
	}
	return p
}

func waitVerdict(t testing.TB, ch <-chan sbd.Liveness, want sbd.Liveness, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := time.After(within)
	for {
		select {
		case v := <-ch:
			if v == want {
				return time.Since(start)
			}
		case <-deadline:
			t.Fatalf("peer not %s within %s", want, within)
		}
	}
}

// TestIntegrationBeatFrozen: a writer process beating every 500 ms is
// seen alive; SIGSTOPped, it is seen dead on the disk path within 3 s;
// SIGCONT, alive again.
func TestIntegrationBeatFrozen(t *testing.T) {
	path := sbdFile(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := startWriter(t, path)
	ch := watchPeer(t, ctx, path, 500*time.Millisecond)
	waitVerdict(t, ch, sbd.Alive, 10*time.Second)
	if err := w.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	took := waitVerdict(t, ch, sbd.Dead, 5*time.Second)
	t.Logf("SIGSTOPped writer seen dead after %s (interval 500ms, dead after 2s)", took.Round(time.Millisecond))
	if took > 3*time.Second {
		t.Errorf("detection took %s, want under 3s", took)
	}
	if err := w.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	t.Logf("SIGCONT: alive again after %s", waitVerdict(t, ch, sbd.Alive, 5*time.Second).Round(time.Millisecond))
}

// TestIntegrationBeatUnderLoad: a live writer under heavy write load on the
// same disk file is never seen dead for SBD_BEAT_LOAD_S seconds (default
// 10; make bench runs BenchmarkDiskBeatLoad for 10 minutes).
func TestIntegrationBeatUnderLoad(t *testing.T) {
	dur := loadDuration(10 * time.Second)
	deaths, mib := beatUnderLoad(t, dur)
	t.Logf("false deaths: %d in %s under %d MiB of O_DIRECT writes on the same disk", deaths, dur, mib)
	if deaths != 0 {
		t.Errorf("%d false deaths", deaths)
	}
}

// beatUnderLoad runs a writer and a watcher for dur while another
// goroutine writes the same disk file as fast as it takes; it returns the
// dead verdicts seen and the MiB of load written.
func beatUnderLoad(t testing.TB, dur time.Duration) (int, int64) {
	path := sbdFile(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	startWriter(t, path)
	ch := watchPeer(t, ctx, path, 500*time.Millisecond)
	waitVerdict(t, ch, sbd.Alive, 10*time.Second)
	var wg sync.WaitGroup
	wg.Add(1)
	var loadBytes int64
	go func() {
		defer wg.Done()
		f, err := blockio.OpenFile(path)
		if err != nil {
			return
		}
		defer f.Close()
		buf := make([]byte, 128<<10)
		for ctx.Err() == nil {
			for lba := uint64(1024); lba < 2048 && ctx.Err() == nil; lba += 256 {
				if f.WriteSectors(ctx, lba, buf) == nil {
					loadBytes += int64(len(buf))
				}
			}
		}
	}()
	deaths := 0
	end := time.After(dur)
	for {
		select {
		case v := <-ch:
			if v == sbd.Dead {
				deaths++
			}
			continue
		case <-end:
		}
		break
	}
	cancel()
	wg.Wait()
	return deaths, loadBytes >> 20
}

// BenchmarkDiskBeatDetect: b.N times, a writer beating every 500 ms is
// SIGSTOPped and the time until the disk path says dead is measured.
func BenchmarkDiskBeatDetect(b *testing.B) {
	path := sbdFile(b)
	var worst, sum time.Duration
	for range b.N {
		ctx, cancel := context.WithCancel(context.Background())
		w := startWriter(b, path)
		ch := watchPeer(b, ctx, path, 500*time.Millisecond)
		waitVerdict(b, ch, sbd.Alive, 10*time.Second)
		if err := w.Process.Signal(syscall.SIGSTOP); err != nil {
			b.Fatal(err)
		}
		d := waitVerdict(b, ch, sbd.Dead, 10*time.Second)
		sum += d
		worst = max(worst, d)
		_ = w.Process.Kill()
		cancel()
	}
	b.ReportMetric(float64(sum.Milliseconds())/float64(b.N), "mean-detect-ms")
	b.ReportMetric(float64(worst.Milliseconds()), "max-detect-ms")
}

// BenchmarkDiskBeatLoad: false deaths of a live writer during
// SBD_BEAT_LOAD_S (default 600) seconds of write load on the same disk.
func BenchmarkDiskBeatLoad(b *testing.B) {
	dur := loadDuration(600 * time.Second)
	deaths, mib := beatUnderLoad(b, dur)
	b.ReportMetric(float64(deaths), "false-deaths")
	b.ReportMetric(dur.Seconds(), "seconds")
	b.ReportMetric(float64(mib), "load-MiB")
}

// loadDuration is SBD_BEAT_LOAD_S seconds, else def.
func loadDuration(def time.Duration) time.Duration {
	if s, err := strconv.Atoi(os.Getenv("SBD_BEAT_LOAD_S")); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return def
}
