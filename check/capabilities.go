package check

import (
	"context"
	"fmt"
	"strings"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/scsi"
)

// describeCapabilities decodes REPORT CAPABILITIES (PERSISTENT RESERVE IN
// service action 02h, SPC-4 6.14.4) for a person.
func describeCapabilities(c scsi.Capabilities) string {
	bit := func(b bool) string {
		if b {
			return "1"
		}
		return "0"
	}
	m := fmt.Sprintf("PTPL_C %s, PTPL_A %s, ATP_C %s, SIP_C %s, CRH %s, RLR_C %s, ALLOW COMMANDS %d", bit(c.PersistThroughPowerLoss), bit(c.PTPLActive), bit(c.AllTargetPorts), bit(c.SpecifyInitiatorPorts), bit(c.CompatibleReservation), bit(c.ReplaceLostReservation), c.AllowCommands)
	if !c.TypeMaskValid {
		return m + "; type mask not valid (TMV 0): the types are unknown"
	}
	var ts []string
	for _, t := range c.Types {
		ts = append(ts, t.Short())
	}
	if len(ts) == 0 {
		ts = []string{"none"}
	}
	return m + "; types " + strings.Join(ts, " ")
}

// judgeCapabilities judges the answer against what hakit needs: the
// agents' reservation type. A type mask that is not valid is unknown, not
// a pass.
func judgeCapabilities(c scsi.Capabilities) (Verdict, string) {
	switch {
	case !c.TypeMaskValid:
		return Warn, "the target does not say which reservation types it supports: the PR tests show whether " + prType.String() + " works"
	case !c.Supports(prType):
		return Fail, "the agents reserve " + prType.String() + ", which the target does not list: use a target that supports it"
	}
	return Pass, ""
}

// aptplResult judges APTPL from PTPL_C and, when tried, what the target
// did with a REGISTER asking for it (tried is false when not sent).
func aptplResult(name string, c scsi.Capabilities, tried bool, err error) Result {
	did := "not tried: it would switch persistence on for every registration of the LUN"
	switch {
	case tried && err == nil:
		did = "a REGISTER with APTPL was accepted"
	case tried && scsi.IsUnsupported(err):
		did = "a REGISTER with APTPL was refused (" + senseOf(err) + ")"
	case tried:
		did = "a REGISTER with APTPL failed: " + err.Error()
	}
	switch {
	case !c.PersistThroughPowerLoss && tried && err == nil:
		return res(name, Warn, "PTPL_C 0, yet "+did, "the target accepts APTPL it says it lacks: check after a target restart that the registrations are still there")
	case !c.PersistThroughPowerLoss:
		return res(name, Warn, "PTPL_C 0 (persist through power loss not supported); "+did,
			"registrations and the reservation are lost when the target restarts: until the agents' sessions reconnect and register again, no reservation keeps a fenced node from writing; prefer a target with APTPL")
	case tried && err != nil:
		return res(name, Fail, "PTPL_C 1, but "+did, "the target's report and its behaviour disagree: check its firmware")
	}
	active := "PTPL_A 0 (not in effect)"
	if c.PTPLActive {
		active = "PTPL_A 1 (in effect)"
	}
	return res(name, Pass, "PTPL_C 1, "+active+"; "+did, "")
}

func senseOf(err error) string {
	if se, ok := scsi.AsSense(err); ok && se.HasSense {
		return se.Sense.String()
	}
	return err.Error()
}

// keysResult shows that hwcheck's test keys cannot collide: the pair's
// keys and the test keys are four different keys, none of the test keys
// was registered before the test, and keys of neither node are named.
func keysResult(name string, agentKeys, testKeys [2]scsi.Key, registered []scsi.Key) Result {
	all := []scsi.Key{agentKeys[0], agentKeys[1], testKeys[0], testKeys[1]}
	for i := range all {
		for j := i + 1; j < len(all); j++ {
			if all[i] == all[j] {
				return res(name, Fail, fmt.Sprintf("keys %v: %s appears twice", all, all[i]), "the node ids of both configurations must differ")
			}
		}
	}
	m := fmt.Sprintf("test keys %s (this node), %s (peer): \"hc\", the cluster's hash and the node id, never equal to the agents' %s, %s or to a fence_scsi key", testKeys[0], testKeys[1], agentKeys[0], agentKeys[1])
	var stale, foreign []string
	for _, k := range registered {
		switch {
		case k == testKeys[0] || k == testKeys[1]:
			stale = append(stale, k.String())
		case k != agentKeys[0] && k != agentKeys[1]:
			foreign = append(foreign, k.String())
		}
	}
	switch {
	case len(stale) > 0:
		return res(name, Warn, m+"; already registered before the test: "+strings.Join(stale, " "), "an earlier hwcheck run was cut short; this run removes its test keys when it ends")
	case len(foreign) > 0:
		return res(name, Warn, m+"; keys of neither node registered: "+strings.Join(foreign, " "), "another cluster or tool uses this LUN: find it (hwagent disk status shows the registrations) before trusting failover")
	}
	return res(name, Pass, m+"; no other key registered", "")
}

// PRCapabilities is the capability part of the "SCSI-3 Persistent
// Reservation" test: REPORT CAPABILITIES decoded, APTPL, PREEMPT AND ABORT
// (accepted or refused, tried between hwcheck's test keys) and keys that
// cannot collide. It needs env.PRTest (PREEMPT AND ABORT and APTPL are
// sent), runs through hwcheck's own sessions and test keys, does not try
// them while a reservation is held, and checks that it left the disk as
// it found it.
func PRCapabilities(ctx context.Context, env Env) []Result {
	return eachTestDisk(ctx, env, "PR capabilities", "PREEMPT AND ABORT and APTPL are tried on the disk", func(td *testDisk) []Result { return capabilitiesDisk(ctx, td) })
}

func capabilitiesDisk(ctx context.Context, td *testDisk) []Result {
	p := td.Prefix
	var out []Result
	c, err := td.Dev[0].ReportCapabilities(ctx)
	capsKnown := err == nil
	switch {
	case err == nil:
		v, hint := judgeCapabilities(c)
		out = append(out, res(p+"REPORT CAPABILITIES", v, describeCapabilities(c), hint))
	case scsi.IsUnsupported(err):
		out = append(out, res(p+"REPORT CAPABILITIES", Warn, "not supported ("+senseOf(err)+"): what the target supports is unknown", "the PR tests show what works; APTPL is unknown"))
	default:
		return append(out, res(p+"REPORT CAPABILITIES", Fail, err.Error(), "the disk does not answer PERSISTENT RESERVE IN from this node"))
	}
	before, err := readDiskState(ctx, td.Dev[0])
	if err != nil {
		return append(out, res(p+"PR capabilities", Fail, "reading the disk: "+err.Error(), ""))
	}
	out = append(out, keysResult(p+"keys that cannot collide", td.AgentKey, td.Key, before.Keys))
	if before.Res.Held {
		return append(out, td.heldSkip("PREEMPT AND ABORT", before)...)
	}
	if td.Config[0].Mode == agent.ModeSCSI2 {
		return append(out, res(p+"PREEMPT AND ABORT", Skip, "the disk is owned in scsi2 mode: the agents use no persistent reservations on it", "the SCSI-2 tests cover it"))
	}
	// APTPL is tried only where the REGISTER cannot change the LUN's
	// persistence: the target says it lacks it, or it is in effect.
	if capsKnown {
		tried := !c.PersistThroughPowerLoss || c.PTPLActive
		var aerr error
		if tried {
			aerr = td.Dev[0].PROut(ctx, scsi.PROutRegisterAndIgnore, 0, scsi.PROutParams{ServiceActionKey: td.Key[0], APTPL: true})
		}
		out = append(out, aptplResult(p+"APTPL (persist through power loss)", c, tried, aerr))
	} else {
		out = append(out, res(p+"APTPL (persist through power loss)", Skip, "unknown: REPORT CAPABILITIES not supported", "ask the target's vendor whether it keeps registrations through power loss"))
	}
	out = append(out, preemptAbort(ctx, td))
	return append(out, td.leftAsFound(ctx, "disk left as found (capabilities)", before))
}

// preemptAbort tries PREEMPT AND ABORT between the test keys: this node's
// test session reserves, the peer's preempts it with abort.
func preemptAbort(ctx context.Context, td *testDisk) Result {
	name := td.Prefix + "PREEMPT AND ABORT"
	for side := range 2 {
		if err := td.register(ctx, side); err != nil {
			return res(name, Fail, fmt.Sprintf("registering %s's test key: %v", sideNames[side], err), "")
		}
	}
	if err := td.Dev[0].PROut(ctx, scsi.PROutReserve, prType, scsi.PROutParams{Key: td.Key[0]}); err != nil {
		return res(name, Fail, "RESERVE by this node's test key: "+err.Error(), "")
	}
	err := td.Dev[1].PROut(ctx, scsi.PROutPreemptAndAbort, prType, scsi.PROutParams{Key: td.Key[1], ServiceActionKey: td.Key[0]})
	return preemptAbortResult(name, err, td.Config[1].AllowPreemptWithoutAbort)
}

// preemptAbortResult judges the target's answer to PREEMPT AND ABORT. A
// refusal is a warning with its consequence when the configuration lets
// the agents fence with PREEMPT, a failure when it does not (no fence can
// then succeed).
func preemptAbortResult(name string, err error, fallbackAllowed bool) Result {
	switch {
	case err == nil:
		return res(name, Pass, "accepted: the peer's test key preempted this node's and aborted its commands", "")
	case scsi.IsUnsupported(err) && fallbackAllowed:
		return res(name, Warn, "refused ("+senseOf(err)+"); the agents fence with PREEMPT instead (allow_preempt_without_abort: true)",
			"PREEMPT removes the fenced node's key but does not abort its queued and running commands: a write it already sent may still land after the fence; prefer a target that supports PREEMPT AND ABORT")
	case scsi.IsUnsupported(err):
		return res(name, Fail, "refused ("+senseOf(err)+"), and allow_preempt_without_abort is off: every fence of this disk fails",
			"use a target that supports PREEMPT AND ABORT, or accept fencing without the abort with allow_preempt_without_abort: true on both nodes")
	}
	return res(name, Fail, "PREEMPT AND ABORT failed: "+err.Error(), "")
}
