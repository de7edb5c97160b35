package hw_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/agent/hw"
	"github.com/hakit/hakit/internal/rig"
	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/scsi/iscsi"
)

// TestIntegrationMutualCHAP: on tgtd with an incoming account (alice,
// this initiator's) and an outgoing one (disk, the target's), a disk
// configured from hwagent.yaml's fields logs in with CHAP and with mutual
// CHAP, in both ownership modes; a wrong target secret or a wrong own
// secret is refused, so neither mode ignores the settings.
func TestIntegrationMutualCHAP(t *testing.T) {
	const iqn = "iqn.2026-11.io.hakit:node-a"
	disk := rig.DiskFor(t, rig.DiskConfig{Initiators: []string{iqn}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := disk.CHAP(ctx, "alice", "alicesecret12", "disk", "disksecret123"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	secret := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good, wrong := secret("alice", "alicesecret12"), secret("wrong", "wrongsecret12")
	target, wrongTarget := secret("disk", "disksecret123"), secret("notdisk", "notthedisks1")
	own, peer := scsi.Key(0x686b00000000003a), scsi.Key(0x686b00000000003b)
	for _, tc := range []struct {
		name                       string
		mode                       string
		secret, targetUser, target string
		ok                         bool
	}{
		{"CHAP", agent.ModePR, good, "", "", true},
		{"mutual CHAP", agent.ModePR, good, "disk", target, true},
		{"mutual CHAP, any target name", agent.ModePR, good, "", target, true},
		{"wrong target secret", agent.ModePR, good, "disk", wrongTarget, false},
		{"wrong target name", agent.ModePR, good, "notdisk", target, false},
		{"wrong own secret", agent.ModePR, wrong, "", "", false},
		{"scsi2 mutual CHAP", agent.ModeSCSI2, good, "disk", target, true},
		{"scsi2 wrong target secret", agent.ModeSCSI2, good, "disk", wrongTarget, false},
		{"scsi2 wrong own secret", agent.ModeSCSI2, wrong, "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := agent.DiskConfig{Device: disk.URL(), Initiator: iqn, Mode: tc.mode, CHAPUser: "alice", CHAPSecretFile: tc.secret, TargetCHAPUser: tc.targetUser, TargetCHAPSecretFile: tc.target}
			var d interface {
				agent.Disk
				Close() error
			}
			var err error
			if tc.mode == agent.ModeSCSI2 {
				cfg.SCSI2PeriodMS = 400
				d, err = hw.NewSCSI2Disk(cfg, testLogger(t))
			} else {
				d, err = hw.NewDisk(cfg, own, peer, "", testLogger(t))
			}
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			_, err = d.Status(ctx)
			switch {
			case tc.ok && err != nil:
				t.Fatalf("login: %v", err)
			case !tc.ok && !errors.Is(err, iscsi.ErrAuthentication):
				t.Fatalf("login = %v, want an authentication error", err)
			case err != nil:
				for _, s := range []string{"alicesecret12", "wrongsecret12", "disksecret123", "notthedisks1"} {
					if strings.Contains(err.Error(), s) {
						t.Errorf("the error shows a secret: %v", err)
					}
				}
				t.Logf("refused: %v", err)
			}
		})
	}
}
