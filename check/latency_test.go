package check

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/scsi/opener"
	"github.com/hakit/hakit/scsi/scsitest"
)

// slowRead delays the nth READ(10) of a transport by d.
type slowRead struct {
	scsi.Transport
	n     int32
	count atomic.Int32
	d     time.Duration
}

func (s *slowRead) Execute(ctx context.Context, cmd *scsi.Command) (*scsi.Response, error) {
	if len(cmd.CDB) > 0 && cmd.CDB[0] == 0x28 && s.count.Add(1) == s.n {
		time.Sleep(s.d)
	}
	return s.Transport.Execute(ctx, cmd)
}

func TestDiskLatencyProbe(t *testing.T) {
	lun := scsitest.New(scsitest.Config{})
	open := func(wrap func(scsi.Transport) scsi.Transport) opener.Func {
		return func(context.Context, string, opener.Options) (scsi.Transport, io.Closer, error) {
			var tr scsi.Transport = lun.Connect("iqn.2026-11.io.hakit:hwcheck", "000000000001")
			if wrap != nil {
				tr = wrap(tr)
			}
			return tr, io.NopCloser(nil), nil
		}
	}
	cfg := func(devs ...string) *agent.Config {
		c := &agent.Config{}
		for _, d := range devs {
			c.Disks = append(c.Disks, agent.DiskConfig{Device: d})
		}
		return c
	}
	const url = "iscsi://127.0.0.1:3260/iqn.2026-11.io.hakit:lun/0"
	for _, c := range []struct {
		name        string
		local, peer *agent.Config
		open        opener.Func
		offline     bool
		want        string
	}{
		{"no disk", nil, nil, open(nil), false, "disk access latency=skip"},
		{"pass, the peer's config not readable", cfg(url), nil, open(nil), false, "disk 0 latency (this node)=pass disk access latency (peer)=skip"},
		{"the peer's local device", cfg(url), cfg("/dev/sdb"), open(nil), false, "disk 0 latency (this node)=pass disk 0 latency (peer)=skip"},
		{"both through iSCSI", cfg(url), cfg(url), open(nil), false, "disk 0 latency (this node)=pass disk 0 latency (peer)=pass"},
		{"a slow read at p99", cfg(url), nil, open(func(tr scsi.Transport) scsi.Transport {
			return &slowRead{Transport: tr, n: 50, d: 120 * time.Millisecond}
		}), false,
			"disk 0 latency (this node)=warn disk access latency (peer)=skip"},
		{"cannot open", cfg(url), nil, func(context.Context, string, opener.Options) (scsi.Transport, io.Closer, error) {
			return nil, nil, errors.New("iscsi: login: target not found")
		}, false, "disk 0 latency (this node)=fail disk access latency (peer)=skip"},
		{"reads fail", cfg(url), nil, open(nil), true, "disk 0 latency (this node)=fail disk access latency (peer)=skip"},
	} {
		t.Run(c.name, func(t *testing.T) {
			lun.SetOnline(!c.offline)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			rs := DiskLatency(ctx, Env{LocalConfig: c.local, PeerConfig: c.peer, Open: c.open})
			if got := verdicts(rs); got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
			for _, r := range rs {
				if r.Verdict != Pass && r.Hint == "" {
					t.Errorf("%s %s without a fix: %s", r.Name, r.Verdict, r.Measured)
				}
			}
		})
	}
}
