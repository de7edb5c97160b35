package iscsi

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// loginStep is one exchange of a login script: the target's response and
// the request the initiator must send next (nil: login done).
type loginStep struct {
	transit bool
	csg     uint8
	nsg     uint8
	cont    bool
	keys    string // "k=v k=v"
	status  uint16
	want    *wantReq
}

type wantReq struct {
	transit  bool
	csg, nsg uint8
	keys     string
}

func kv(s string) textKeys {
	var out textKeys
	for _, f := range strings.Fields(s) {
		k, v, _ := strings.Cut(f, "=")
		out = append(out, textKV{k, v})
	}
	return out
}

func testLoginConfig() loginConfig {
	return loginConfig{InitiatorName: "iqn.2026-11.io.hakit.test:a", TargetName: "iqn.2026-11.io.hakit.test:t",
		ISID: DefaultISID("iqn.2026-11.io.hakit.test:a"), ITT: 5, CmdSN: 1, MaxRecvDataSegmentLength: 262144,
		FirstBurstLength: 262144, MaxBurstLength: 1048576, ImmediateData: true, Portal: "h:3260"}
}

const opOffer = "HeaderDigest=None DataDigest=None MaxRecvDataSegmentLength=262144 InitialR2T=No ImmediateData=Yes " +
	"FirstBurstLength=262144 MaxBurstLength=1048576 MaxOutstandingR2T=1 ErrorRecoveryLevel=0 DataPDUInOrder=Yes " +
	"DataSequenceInOrder=Yes DefaultTime2Wait=2 DefaultTime2Retain=0 MaxConnections=1"

const opAnswer = "HeaderDigest=None DataDigest=None MaxRecvDataSegmentLength=8192 InitialR2T=Yes ImmediateData=Yes " +
	"FirstBurstLength=65536 MaxBurstLength=262144 MaxOutstandingR2T=1 ErrorRecoveryLevel=0 DataPDUInOrder=Yes " +
	"DataSequenceInOrder=Yes DefaultTime2Wait=2 DefaultTime2Retain=0 MaxConnections=1"

const firstNone = "InitiatorName=iqn.2026-11.io.hakit.test:a SessionType=Normal TargetName=iqn.2026-11.io.hakit.test:t AuthMethod=None"

// runLoginScript drives the login machine through steps and returns the
// final params or the first error.
func runLoginScript(t *testing.T, cfg loginConfig, first wantReq, steps []loginStep) (Params, error) {
	t.Helper()
	l := newLogin(cfg)
	req, err := l.first()
	if err != nil {
		t.Fatal(err)
	}
	check := func(w wantReq, req *loginReq) {
		t.Helper()
		got, err := decodeText(req.Data)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(kv(w.keys), got); diff != "" || req.Transit != w.transit || req.CSG != w.csg || req.NSG != w.nsg {
			t.Fatalf("request T=%v CSG=%d NSG=%d, want T=%v CSG=%d NSG=%d; keys (-want +got):\n%s", req.Transit, req.CSG, req.NSG, w.transit, w.csg, w.nsg, diff)
		}
		if req.ITT != cfg.ITT || req.ISID != cfg.ISID || req.CmdSN != cfg.CmdSN {
			t.Fatalf("request %+v", req)
		}
	}
	check(first, req)
	for i, st := range steps {
		data, err := encodeText(kv(st.keys))
		if err != nil {
			t.Fatal(err)
		}
		resp := &loginResp{Transit: st.transit, Continue: st.cont, CSG: st.csg, NSG: st.nsg, ISID: cfg.ISID, TSIH: 0x42, ITT: cfg.ITT,
			StatSN: uint32(100 + i), ExpCmdSN: 1, MaxCmdSN: 32, StatusClass: uint8(st.status >> 8), StatusDetail: uint8(st.status), Data: data}
		next, done, err := l.step(resp)
		if err != nil {
			return Params{}, err
		}
		if st.want == nil {
			if !done {
				t.Fatalf("step %d: not done", i)
			}
			p, tsih, exp := l.result()
			if tsih != 0x42 || exp != uint32(100+i+1) {
				t.Errorf("TSIH %#x ExpStatSN %d", tsih, exp)
			}
			return p, nil
		}
		if done {
			t.Fatalf("step %d: done early", i)
		}
		check(*st.want, next)
		if next.ExpStatSN != uint32(100+i+1) {
			t.Errorf("step %d: ExpStatSN %d", i, next.ExpStatSN)
		}
	}
	t.Fatal("script ended before the login")
	return Params{}, nil
}

func TestLoginNone(t *testing.T) {
	p, err := runLoginScript(t, testLoginConfig(), wantReq{true, 0, 1, firstNone}, []loginStep{
		{transit: true, csg: 0, nsg: 1, keys: "AuthMethod=None TargetPortalGroupTag=1 TargetAlias=disk", want: &wantReq{true, 1, 3, opOffer}},
		{transit: true, csg: 1, nsg: 3, keys: opAnswer},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Params{MaxRecvDataSegmentLength: 262144, MaxXmitDataSegmentLength: 8192, FirstBurstLength: 65536, MaxBurstLength: 262144,
		ImmediateData: true, InitialR2T: true, MaxOutstandingR2T: 1, DataPDUInOrder: true, DataSequenceInOrder: true,
		DefaultTime2Wait: 2, TargetPortalGroupTag: 1, TargetAlias: "disk"}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Error(diff)
	}
}

func TestLoginSlowTransit(t *testing.T) {
	// The target holds the initiator in each stage once, and offers a key
	// of its own that gets an answer; text with the C bit is reassembled.
	p, err := runLoginScript(t, testLoginConfig(), wantReq{true, 0, 1, firstNone}, []loginStep{
		{csg: 0, keys: "AuthMethod=None", want: &wantReq{true, 0, 1, ""}},
		{transit: true, csg: 0, nsg: 1, want: &wantReq{true, 1, 3, opOffer}},
		{csg: 1, cont: true, keys: "HeaderDigest=None", want: &wantReq{false, 1, 1, ""}},
		{csg: 1, keys: "DataDigest=None X-vendor.key=1 IFMarker=Yes", want: &wantReq{true, 1, 3, "X-vendor.key=NotUnderstood IFMarker=No"}},
		{transit: true, csg: 1, nsg: 3, keys: "MaxRecvDataSegmentLength=65536 FirstBurstLength=999999999"},
	})
	if err == nil || !strings.Contains(err.Error(), "FirstBurstLength") {
		t.Fatalf("FirstBurstLength above the offer: %v", err)
	}
	_ = p
}

func TestLoginDefaultsWhenUnanswered(t *testing.T) {
	p, err := runLoginScript(t, testLoginConfig(), wantReq{true, 0, 1, firstNone}, []loginStep{
		{transit: true, csg: 0, nsg: 1, want: &wantReq{true, 1, 3, opOffer}},
		{transit: true, csg: 1, nsg: 3, keys: "MaxBurstLength=4096"},
	})
	if err != nil {
		t.Fatal(err)
	}
	// RFC 7143 defaults: 8192 bytes per PDU, InitialR2T=Yes; FirstBurstLength
	// capped by MaxBurstLength.
	if p.MaxXmitDataSegmentLength != 8192 || !p.InitialR2T || !p.ImmediateData || p.FirstBurstLength != 4096 || p.MaxBurstLength != 4096 {
		t.Errorf("params %+v", p)
	}
}

func TestLoginCHAP(t *testing.T) {
	cfg := testLoginConfig()
	cfg.User, cfg.Secret = "alice", "verysecret12"
	first := wantReq{false, 0, 1, strings.Replace(firstNone, "AuthMethod=None", "AuthMethod=CHAP", 1)}
	chal := "CHAP_A=5 CHAP_I=1 CHAP_C=0x00112233445566778899aabbccddeeff"
	t.Run("one way", func(t *testing.T) {
		_, err := runLoginScript(t, cfg, first, []loginStep{
			{csg: 0, nsg: 0, keys: "AuthMethod=CHAP", want: &wantReq{false, 0, 1, "CHAP_A=5"}},
			{csg: 0, keys: chal, want: &wantReq{true, 0, 1, "CHAP_N=alice CHAP_R=0x4906d779d24df7c773f40de528453f87"}},
			{transit: true, csg: 0, nsg: 1, want: &wantReq{true, 1, 3, opOffer}},
			{transit: true, csg: 1, nsg: 3, keys: opAnswer},
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	mutual := cfg
	mutual.MutualUser, mutual.MutualSecret = "target", "targetsecret"
	mutual.Rand = bytes.NewReader(append([]byte{7}, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}...))
	mutualResp := "CHAP_N=alice CHAP_R=0x4906d779d24df7c773f40de528453f87 CHAP_I=7 CHAP_C=0x000102030405060708090a0b0c0d0e0f"
	t.Run("mutual", func(t *testing.T) {
		m := mutual
		m.Rand = bytes.NewReader(append([]byte{7}, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}...))
		_, err := runLoginScript(t, m, first, []loginStep{
			{csg: 0, keys: "AuthMethod=CHAP", want: &wantReq{false, 0, 1, "CHAP_A=5"}},
			{csg: 0, keys: chal, want: &wantReq{true, 0, 1, mutualResp}},
			{transit: true, csg: 0, nsg: 1, keys: "CHAP_N=target CHAP_R=0x7bfc6b1f059cba678ed8fab38e7826eb", want: &wantReq{true, 1, 3, opOffer}},
			{transit: true, csg: 1, nsg: 3, keys: opAnswer},
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	for _, tc := range []struct {
		name  string
		cfg   loginConfig
		steps []loginStep
		want  string
		is    error
	}{
		{"refused", cfg, []loginStep{{csg: 0, status: 0x0201}}, "status 0x0201 (authentication failure)", ErrAuthentication},
		{"not authorized", cfg, []loginStep{{csg: 0, status: 0x0202}}, "status 0x0202", ErrNotAuthorized},
		{"no such target", cfg, []loginStep{{csg: 0, status: 0x0203}}, "target not found", ErrTargetNotFound},
		{"target wants None", cfg, []loginStep{{csg: 0, keys: "AuthMethod=None"}}, `AuthMethod="None": offered CHAP`, ErrProtocol},
		{"SHA1", cfg, []loginStep{{csg: 0, keys: "AuthMethod=CHAP", want: &wantReq{false, 0, 1, "CHAP_A=5"}}, {csg: 0, keys: "CHAP_A=6 CHAP_I=1 CHAP_C=0x01"}}, "only CHAP with MD5", ErrProtocol},
		{"bad id", cfg, []loginStep{{csg: 0, keys: "AuthMethod=CHAP", want: &wantReq{false, 0, 1, "CHAP_A=5"}}, {csg: 0, keys: "CHAP_A=5 CHAP_I=256 CHAP_C=0x01"}}, "CHAP_I", ErrProtocol},
		{"no challenge", cfg, []loginStep{{csg: 0, keys: "AuthMethod=CHAP", want: &wantReq{false, 0, 1, "CHAP_A=5"}}, {csg: 0, keys: "CHAP_A=5 CHAP_I=1"}}, "CHAP_C", ErrProtocol},
		{"bad hex", cfg, []loginStep{{csg: 0, keys: "AuthMethod=CHAP", want: &wantReq{false, 0, 1, "CHAP_A=5"}}, {csg: 0, keys: "CHAP_A=5 CHAP_I=1 CHAP_C=0xzz"}}, "CHAP_C", ErrProtocol},
		{"mutual wrong response", mutual, []loginStep{
			{csg: 0, keys: "AuthMethod=CHAP", want: &wantReq{false, 0, 1, "CHAP_A=5"}},
			{csg: 0, keys: chal, want: &wantReq{true, 0, 1, mutualResp}},
			{transit: true, csg: 0, nsg: 1, keys: "CHAP_N=target CHAP_R=0x00"},
		}, "does not match the secret", ErrAuthentication},
		{"mutual wrong name", mutual, []loginStep{
			{csg: 0, keys: "AuthMethod=CHAP", want: &wantReq{false, 0, 1, "CHAP_A=5"}},
			{csg: 0, keys: chal, want: &wantReq{true, 0, 1, mutualResp}},
			{transit: true, csg: 0, nsg: 1, keys: "CHAP_N=mallory CHAP_R=0x7bfc6b1f059cba678ed8fab38e7826eb"},
		}, `calls itself "mallory"`, ErrAuthentication},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.cfg
			c.Rand = bytes.NewReader(append([]byte{7}, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}...))
			_, err := runLoginScript(t, c, first, tc.steps)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, tc.is) {
				t.Errorf("error %v, want %q matching %v", err, tc.want, tc.is)
			}
		})
	}
}

func TestLoginNegotiationErrors(t *testing.T) {
	crc := testLoginConfig()
	crc.HeaderDigest = DigestCRC32C
	crcOffer := strings.Replace(opOffer, "HeaderDigest=None", "HeaderDigest=CRC32C", 1)
	for _, tc := range []struct {
		name   string
		cfg    loginConfig
		offer  string
		answer string
		want   string
	}{
		{"ERL 1", testLoginConfig(), opOffer, "ErrorRecoveryLevel=1", "ErrorRecoveryLevel"},
		{"R2T 2", testLoginConfig(), opOffer, "MaxOutstandingR2T=2", "MaxOutstandingR2T"},
		{"ERL refused", testLoginConfig(), opOffer, "ErrorRecoveryLevel=Reject", "required key refused"},
		{"PDU order", testLoginConfig(), opOffer, "DataPDUInOrder=No", "result of OR is Yes"},
		{"bad bool", testLoginConfig(), opOffer, "ImmediateData=Maybe", "want Yes or No"},
		{"small MRDSL", testLoginConfig(), opOffer, "MaxRecvDataSegmentLength=100", "from 512"},
		{"digest not offered", testLoginConfig(), opOffer, "HeaderDigest=CRC32C", "offered None"},
		{"digest refused", crc, crcOffer, "HeaderDigest=None", "offered CRC32C"},
		{"digest unanswered", crc, crcOffer, "", "CRC32C required"},
		{"digest rejected", crc, crcOffer, "HeaderDigest=Reject", "CRC32C required"},
		{"two connections", testLoginConfig(), opOffer, "MaxConnections=2", "MaxConnections"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runLoginScript(t, tc.cfg, wantReq{true, 0, 1, firstNone}, []loginStep{
				{transit: true, csg: 0, nsg: 1, want: &wantReq{true, 1, 3, tc.offer}},
				{transit: true, csg: 1, nsg: 3, keys: tc.answer},
			})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrProtocol) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestLoginProtocolErrors(t *testing.T) {
	cfg := testLoginConfig()
	for _, tc := range []struct {
		name string
		resp loginResp
		want string
	}{
		{"ITT", loginResp{ITT: 6, ISID: cfg.ISID}, "ITT 0x00000006, sent 0x00000005"},
		{"ISID", loginResp{ITT: 5}, "ISID"},
		{"version", loginResp{ITT: 5, ISID: cfg.ISID, VersionActive: 1}, "version 1"},
		{"stage", loginResp{ITT: 5, ISID: cfg.ISID, CSG: 1}, "stage 1, request was in stage 0"},
		{"transit to 2", loginResp{ITT: 5, ISID: cfg.ISID, Transit: true, NSG: 2}, "transit to stage 2"},
		{"bad text", loginResp{ITT: 5, ISID: cfg.ISID, Data: []byte("garbage\x00")}, "has no '='"},
		{"bad tag", loginResp{ITT: 5, ISID: cfg.ISID, Data: []byte("TargetPortalGroupTag=x\x00")}, "TargetPortalGroupTag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLogin(cfg)
			if _, err := l.first(); err != nil {
				t.Fatal(err)
			}
			_, _, err := l.step(&tc.resp)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrProtocol) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
	t.Run("endless", func(t *testing.T) {
		l := newLogin(cfg)
		l.first()
		var err error
		for i := 0; i <= maxLoginSteps && err == nil; i++ {
			_, _, err = l.step(&loginResp{ITT: 5, ISID: cfg.ISID})
		}
		if err == nil || !strings.Contains(err.Error(), "not complete after") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("skip operational", func(t *testing.T) {
		l := newLogin(cfg)
		l.first()
		_, done, err := l.step(&loginResp{ITT: 5, ISID: cfg.ISID, Transit: true, NSG: 3})
		if err != nil || !done {
			t.Errorf("done %v err %v", done, err)
		}
		if p, _, _ := l.result(); p.MaxXmitDataSegmentLength != 8192 || !p.InitialR2T {
			t.Errorf("params %+v", p)
		}
	})
}

func TestErrorTexts(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&LoginError{Class: 1, Detail: 1, Target: "h:1 iqn.x"}, "login to h:1 iqn.x refused: status 0x0101 (target moved temporarily)"},
		{&LoginError{Class: 3, Detail: 1}, "service unavailable"},
		{&LoginError{Class: 2, Detail: 0x40}, "initiator error"},
		{&LoginError{Class: 2, Detail: 3, Target: "h:1 iqn.x", Initiator: "iqn.2026-11.io.hakit:node-c"}, "status 0x0203 (target not found, or initiator not in its ACL); initiator iqn.2026-11.io.hakit:node-c"},
		{&TMFError{Function: TMFLogicalUnitReset, Response: 255}, "LOGICAL UNIT RESET: response 255 (function rejected)"},
		{&TMFError{Function: 99, Response: 1}, "function 99: response 1 (task does not exist)"},
		{&RejectError{Reason: 9, PDU: "Data-Out"}, "target rejected Data-Out: reason 0x09 (invalid PDU field)"},
		{&ResponseError{Response: 1, CDB: 0x28}, "SCSI command 0x28: response 0x01 (target failure)"},
		{&ProtocolError{What: "x"}, "iscsi: protocol error: x"},
	} {
		if got := tc.err.Error(); !strings.Contains(got, tc.want) {
			t.Errorf("%q, want %q", got, tc.want)
		}
	}
}
