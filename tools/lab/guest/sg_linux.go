package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/scsi/diskcli"
)

// Exit codes as sg_persist uses them.
const (
	exitConflict      = 24
	exitUnitAttention = 6
)

// sgTool: hakit sg [--initiator NAME] DEV OP [KEYS]: one SCSI command
// through hakit's scsi package, over SG_IO for /dev/sgN or hakit's userspace
// initiator for iscsi://host/iqn/lun (with --initiator naming the I_T
// nexus). OPs: tur, identify, reserve6, release6, read, write
// (block 0), readkeys, readres, register KEY, reserve KEY, release KEY,
// clear KEY, preempt KEY VICTIM, and for SPC-4 targets register-aptpl KEY,
// preempt-abort KEY VICTIM, fullstatus, caps. Persistent reservations are type 1 (Write
// Exclusive): only the holder may write.
func sgTool(ctx context.Context, args []string, w, _ io.Writer) error {
	var initiator string
	if len(args) > 1 && args[0] == "--initiator" {
		initiator, args = args[1], args[2:]
	}
	if len(args) < 2 {
		return &exitError{2, errors.New("usage: hakit sg [--initiator NAME] DEV OP [KEYS]")}
	}
	op, rest := args[1], args[2:]
	keys := make([]scsi.Key, len(rest))
	for i, a := range rest {
		k, err := scsi.ParseKey(a)
		if err != nil {
			return &exitError{2, err}
		}
		keys[i] = k
	}
	need := map[string]int{"register": 1, "register-aptpl": 1, "reserve": 1, "release": 1, "clear": 1, "preempt": 2, "preempt-abort": 2}
	if len(keys) != need[op] {
		return &exitError{2, fmt.Errorf("%s wants %d keys, got %d", op, need[op], len(keys))}
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	tr, closer, err := diskcli.OpenDevice(ctx, args[0], diskcli.OpenOptions{Initiator: initiator})
	if err != nil {
		return err
	}
	defer closer.Close()
	d := &scsi.Device{Transport: tr, Name: args[0]}
	err = sgOp(ctx, d, op, keys, w)
	switch {
	case errors.Is(err, scsi.ErrReservationConflict):
		fmt.Fprintf(w, "%s: RESERVATION CONFLICT\n", op)
		return &exitError{exitConflict, err}
	case errors.Is(err, scsi.ErrUnitAttention):
		fmt.Fprintf(w, "%s: UNIT ATTENTION: %v\n", op, err)
		return &exitError{exitUnitAttention, err}
	case err != nil:
		return err
	}
	fmt.Fprintf(w, "%s: GOOD\n", op)
	return nil
}

func sgOp(ctx context.Context, d *scsi.Device, op string, keys []scsi.Key, w io.Writer) error {
	// REGISTER and CLEAR carry no type; the others Write Exclusive.
	prout := func(a scsi.PROutAction, p scsi.PROutParams) error {
		var t scsi.ReservationType
		if a != scsi.PROutRegister && a != scsi.PROutClear && a != scsi.PROutRegisterAndIgnore {
			t = scsi.TypeWriteExclusive
		}
		return d.PROut(ctx, a, t, p)
	}
	switch op {
	case "tur":
		return d.TestUnitReady(ctx)
	case "identify":
		id, err := d.Identify(ctx)
		if err == nil {
			fmt.Fprintf(w, "id=%s source=%q vendor=%q product=%q serial=%q\n", id.ID, id.Source, id.Vendor, id.Product, id.Serial)
		}
		return err
	case "reserve6":
		return d.Reserve6(ctx)
	case "release6":
		return d.Release6(ctx)
	case "read":
		_, err := d.Do(ctx, scsi.Read10(0, 1, 512))
		return err
	case "write":
		block := make([]byte, 512)
		copy(block, "hakit lab write\n")
		cmd, err := scsi.Write10(0, block, 512)
		if err == nil {
			_, err = d.Do(ctx, cmd)
		}
		return err
	case "readkeys":
		k, err := d.ReadKeys(ctx)
		if err == nil {
			s := make([]string, len(k.Keys))
			for i, key := range k.Keys {
				s[i] = key.String()
			}
			fmt.Fprintf(w, "generation=%#x keys=%s\n", k.Generation, strings.Join(s, ","))
		}
		return err
	case "readres":
		r, err := d.ReadReservation(ctx)
		if err == nil {
			fmt.Fprintf(w, "generation=%#x held=%v key=%s type=%d\n", r.Generation, r.Held, r.Key, r.Type)
		}
		return err
	case "register":
		return prout(scsi.PROutRegister, scsi.PROutParams{ServiceActionKey: keys[0]})
	case "reserve":
		return prout(scsi.PROutReserve, scsi.PROutParams{Key: keys[0]})
	case "release":
		return prout(scsi.PROutRelease, scsi.PROutParams{Key: keys[0]})
	case "clear":
		return prout(scsi.PROutClear, scsi.PROutParams{Key: keys[0]})
	case "preempt":
		return prout(scsi.PROutPreempt, scsi.PROutParams{Key: keys[0], ServiceActionKey: keys[1]})
	case "preempt-abort":
		return prout(scsi.PROutPreemptAndAbort, scsi.PROutParams{Key: keys[0], ServiceActionKey: keys[1]})
	case "register-aptpl":
		return prout(scsi.PROutRegister, scsi.PROutParams{ServiceActionKey: keys[0], APTPL: true})
	case "fullstatus":
		fs, err := d.ReadFullStatus(ctx)
		if err == nil {
			fmt.Fprintf(w, "generation=%#x registrations=%d\n", fs.Generation, len(fs.Registrations))
			for _, r := range fs.Registrations {
				fmt.Fprintf(w, "key=%s holder=%v type=%d rtpi=%d initiator=%s\n", r.Key, r.Holder, r.Type, r.RelativeTargetPort, r.Initiator)
			}
		}
		return err
	case "caps":
		c, err := d.ReportCapabilities(ctx)
		if err == nil {
			fmt.Fprintf(w, "ptpl_c=%v ptpl_a=%v atp_c=%v sip_c=%v types=%v\n", c.PersistThroughPowerLoss, c.PTPLActive, c.AllTargetPorts, c.SpecifyInitiatorPorts, c.Types)
		}
		return err
	}
	return &exitError{2, fmt.Errorf("unknown op %q", op)}
}
