package check

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/hakit/hakit/agent"
)

// Fence-timing defaults: fence_hwagent's power_timeout and Pacemaker's
// stonith-timeout.
const (
	defaultPowerTimeout   = 20 * time.Second
	defaultStonithTimeout = 60 * time.Second
)

// StonithTimeoutFunc reads the cluster's stonith-timeout; found is false
// when the cluster runs with Pacemaker's default (the property unset).
type StonithTimeoutFunc func(ctx context.Context) (d time.Duration, found bool, err error)

// StonithTimeoutFrom reads stonith-timeout from the running cluster with
// crm_attribute, run by command (exec.CommandContext on a node; tests run
// it inside a rig node).
func StonithTimeoutFrom(command func(ctx context.Context, name string, args ...string) *exec.Cmd) StonithTimeoutFunc {
	return func(ctx context.Context) (time.Duration, bool, error) { return crmStonithTimeout(ctx, command) }
}

func crmStonithTimeout(ctx context.Context, command func(ctx context.Context, name string, args ...string) *exec.Cmd) (time.Duration, bool, error) {
	if _, err := exec.LookPath("crm_attribute"); err != nil {
		return 0, false, errors.New("crm_attribute is not installed (no Pacemaker on this node)")
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	cmd := command(ctx, "crm_attribute", "--type", "crm_config", "--name", "stonith-timeout", "--query", "--quiet")
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	// 105 (CRM_EX_NOSUCH): the property is not set, the default applies.
	if errors.As(err, &ee) && ee.ExitCode() == 105 {
		return defaultStonithTimeout, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("crm_attribute: %w: %s", err, strings.TrimSpace(errb.String()))
	}
	d, err := ParseCrmDuration(strings.TrimSpace(out.String()))
	return d, true, err
}

// ParseCrmDuration reads a Pacemaker interval: a number with an optional
// unit (ms, msec, us, usec, s, sec, m, min, h, hr); no unit means seconds.
func ParseCrmDuration(s string) (time.Duration, error) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("duration %q: want a number with an optional unit (s, ms, min, h)", s)
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil || n > 1<<31 {
		return 0, fmt.Errorf("duration %q: out of range", s)
	}
	units := map[string]time.Duration{"": time.Second, "s": time.Second, "sec": time.Second, "ms": time.Millisecond, "msec": time.Millisecond,
		"us": time.Microsecond, "usec": time.Microsecond, "m": time.Minute, "min": time.Minute, "h": time.Hour, "hr": time.Hour}
	u, ok := units[strings.TrimSpace(s[i:])]
	if !ok {
		return 0, fmt.Errorf("duration %q: unknown unit %q", s, s[i:])
	}
	return time.Duration(n) * u, nil
}

// Fencing checks, for each node whose configuration is readable, that its
// fence delay (fence.priority x fence.delay_step_ms: Pacemaker does not see
// it) and fence_hwagent's power_timeout fit in the cluster's
// stonith-timeout; fence_hwagent refuses a fence that does not, so such a
// node can never be fenced by the peer.
func Fencing(ctx context.Context, env Env) []Result {
	if env.LocalConfig == nil {
		return skip("fence delay", "no configuration", "pass --config")
	}
	read := env.StonithTimeout
	if read == nil {
		read = StonithTimeoutFrom(exec.CommandContext)
	}
	limit, found, err := read(ctx)
	source := "the cluster's stonith-timeout"
	known := err == nil
	switch {
	case err != nil:
		limit, source = defaultStonithTimeout, fmt.Sprintf("Pacemaker's default stonith-timeout (the cluster's could not be read: %v)", err)
	case !found:
		source = "Pacemaker's default stonith-timeout (the property is not set)"
	}
	return fenceDelayResults(env.LocalConfig, env.PeerConfig, limit, source, known)
}

// fenceDelayResults judges each configuration's fence delay against limit.
// Without the cluster's own value (known false), a delay that fits the
// default is a skip, not a pass.
func fenceDelayResults(local, peer *agent.Config, limit time.Duration, source string, known bool) []Result {
	var out []Result
	for _, c := range []*agent.Config{local, peer} {
		if c == nil {
			continue
		}
		delay := time.Duration(c.FenceDelayMS()) * time.Millisecond
		total := delay + defaultPowerTimeout
		name := "fence delay of " + c.Node.Name
		m := fmt.Sprintf("fence.priority %d x fence.delay_step_ms %d = %v, + power_timeout %v = %v; limit %v (%s)", c.Fence.Priority, c.Fence.DelayStepMS, delay, defaultPowerTimeout, total, limit, source)
		switch {
		case total > limit:
			v := Fail
			if !known {
				v = Warn
			}
			out = append(out, res(name, v, m, fmt.Sprintf("fence_hwagent refuses this fence (the fencer would time it out): lower fence.priority or fence.delay_step_ms on %s, or raise stonith-timeout above %v and pass stonith_timeout= to the stonith device, or leave the race to Pacemaker (pcmk_delay_base, priority-fencing-delay) with fence.delay_step_ms: 0", c.Node.Name, total)))
		case !known:
			out = append(out, res(name, Skip, m, "run hwcheck on a cluster node with Pacemaker running to compare with the cluster's own stonith-timeout"))
		default:
			out = append(out, res(name, Pass, m, ""))
		}
	}
	if peer == nil {
		out = append(out, res("fence delay of "+local.Peer.Name, Skip, "the peer's configuration is not readable from here", "run hwcheck on the peer too, or pass --peer-config"))
	}
	return out
}
