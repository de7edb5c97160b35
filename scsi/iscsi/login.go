package iscsi

import (
	"crypto/md5"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// loginConfig is what one login needs, resolved from Config and URL.
type loginConfig struct {
	InitiatorName, TargetName string
	ISID                      [6]byte
	TSIH                      uint16
	ITT                       uint32
	CmdSN                     uint32
	User, Secret              string // CHAP; empty User means AuthMethod=None
	MutualUser, MutualSecret  string // mutual CHAP when MutualSecret is set
	HeaderDigest, DataDigest  Digest
	MaxRecvDataSegmentLength  int
	FirstBurstLength          int
	MaxBurstLength            int
	ImmediateData, InitialR2T bool
	Rand                      io.Reader // CHAP challenges
	Portal                    string    // for errors
	Discovery                 bool      // SessionType=Discovery, no TargetName
}

// chapState is where the security stage is.
type chapState int

const (
	secStart     chapState = iota // AuthMethod offered
	secAlgorithm                  // CHAP_A sent
	secResponse                   // CHAP_R sent
	secDone
)

// maxLoginSteps bounds the number of request/response exchanges.
const maxLoginSteps = 32

// login is the initiator side of the login phase (RFC 7143 6.3) as a state
// machine with no I/O: first returns the first request, then each Login
// Response goes to step, which returns the next request or done.
type login struct {
	cfg   loginConfig
	stage uint8
	sec   chapState
	steps int

	expStatSN uint32
	tsih      uint16
	params    Params
	offered   map[string]string // operational keys sent
	answered  map[string]bool
	partial   []byte // text of responses with the C bit

	mutualID        byte
	mutualChallenge []byte
}

func newLogin(cfg loginConfig) *login {
	return &login{cfg: cfg, params: defaultParams(), answered: map[string]bool{}}
}

func (l *login) request(transit bool, nsg uint8, keys textKeys) (*loginReq, error) {
	data, err := encodeText(keys)
	if err != nil {
		return nil, err
	}
	return &loginReq{Transit: transit, CSG: l.stage, NSG: nsg, ISID: l.cfg.ISID, TSIH: l.cfg.TSIH,
		ITT: l.cfg.ITT, CmdSN: l.cfg.CmdSN, ExpStatSN: l.expStatSN, Data: data}, nil
}

// first returns the first Login Request: the security stage, with
// AuthMethod None (transit to the operational stage at once) or CHAP.
func (l *login) first() (*loginReq, error) {
	keys := textKeys{{"InitiatorName", l.cfg.InitiatorName}, {"SessionType", "Normal"}, {"TargetName", l.cfg.TargetName}}
	if l.cfg.Discovery {
		keys = textKeys{{"InitiatorName", l.cfg.InitiatorName}, {"SessionType", "Discovery"}}
	}
	l.stage = stageSecurity
	if l.cfg.User == "" {
		keys = append(keys, textKV{"AuthMethod", "None"})
		return l.request(true, stageOperational, keys)
	}
	keys = append(keys, textKV{"AuthMethod", "CHAP"})
	return l.request(false, stageOperational, keys)
}

// done reports the results of a completed login.
func (l *login) result() (Params, uint16, uint32) { return l.params, l.tsih, l.expStatSN }

func (l *login) fail(key, value, what string) error {
	return &NegotiationError{Key: key, Value: value, What: what}
}

// step takes a Login Response and returns the next request, or done when the
// target moved to the full feature phase.
func (l *login) step(r *loginResp) (next *loginReq, done bool, err error) {
	l.steps++
	if l.steps > maxLoginSteps {
		return nil, false, &ProtocolError{PDU: opLoginResp.String(), What: fmt.Sprintf("login not complete after %d exchanges", maxLoginSteps)}
	}
	if r.StatusClass != 0 {
		le := &LoginError{Class: r.StatusClass, Detail: r.StatusDetail, Target: l.cfg.Portal + " " + l.cfg.TargetName, Initiator: l.cfg.InitiatorName}
		if r.StatusClass == 1 {
			keys, _ := decodeText(r.Data)
			if v, ok := keys.get("TargetAddress"); ok {
				le.Redirect = redirectAddr(v)
			}
		}
		return nil, false, le
	}
	if r.ITT != l.cfg.ITT {
		return nil, false, &ProtocolError{PDU: opLoginResp.String(), What: fmt.Sprintf("ITT 0x%08x, sent 0x%08x", r.ITT, l.cfg.ITT)}
	}
	if r.VersionActive != 0 {
		return nil, false, &ProtocolError{PDU: opLoginResp.String(), What: fmt.Sprintf("version %d, want 0", r.VersionActive)}
	}
	if r.CSG != l.stage {
		return nil, false, &ProtocolError{PDU: opLoginResp.String(), What: fmt.Sprintf("stage %d, request was in stage %d", r.CSG, l.stage)}
	}
	if r.ISID != l.cfg.ISID {
		return nil, false, &ProtocolError{PDU: opLoginResp.String(), What: fmt.Sprintf("ISID %x, sent %x", r.ISID, l.cfg.ISID)}
	}
	l.expStatSN = r.StatSN + 1
	l.tsih = r.TSIH
	if r.Continue {
		// More text follows: ask for it with an empty request.
		l.partial = append(l.partial, r.Data...)
		if len(l.partial) > maxTextLen {
			return nil, false, &ProtocolError{PDU: opLoginResp.String(), What: "login text too long"}
		}
		next, err := l.request(false, l.stage, nil)
		return next, false, err
	}
	keys, err := decodeText(append(l.partial, r.Data...))
	l.partial = nil
	if err != nil {
		err.(*ProtocolError).PDU = opLoginResp.String()
		return nil, false, err
	}
	if l.stage == stageSecurity {
		return l.security(r, keys)
	}
	return l.operational(r, keys)
}

func (l *login) security(r *loginResp, keys textKeys) (*loginReq, bool, error) {
	if v, ok := keys.get("TargetPortalGroupTag"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 65535 {
			return nil, false, l.fail("TargetPortalGroupTag", v, "not a number from 0 to 65535")
		}
		l.params.TargetPortalGroupTag = n
	}
	if v, ok := keys.get("TargetAlias"); ok {
		l.params.TargetAlias = v
	}
	if v, ok := keys.get("AuthMethod"); ok {
		want := "None"
		if l.cfg.User != "" {
			want = "CHAP"
		}
		if v != want {
			if l.cfg.User == "" && v == "CHAP" {
				return nil, false, &LoginError{Class: 2, Detail: 1, Target: l.cfg.Portal + " " + l.cfg.TargetName, Initiator: l.cfg.InitiatorName}
			}
			return nil, false, l.fail("AuthMethod", v, "offered "+want)
		}
	}
	if l.cfg.User == "" {
		return l.toOperational(r)
	}
	switch l.sec {
	case secStart:
		if _, ok := keys.get("AuthMethod"); !ok {
			return nil, false, l.fail("AuthMethod", "", "target did not answer CHAP")
		}
		l.sec = secAlgorithm
		next, err := l.request(false, stageOperational, textKeys{{"CHAP_A", "5"}})
		return next, false, err
	case secAlgorithm:
		return l.chapResponse(keys)
	case secResponse:
		if l.cfg.MutualSecret != "" {
			if err := l.checkMutual(keys); err != nil {
				return nil, false, err
			}
		}
		l.sec = secDone
		return l.toOperational(r)
	default:
		return l.toOperational(r)
	}
}

// numericalValue parses an RFC 7143 5.1 numerical value: a decimal
// constant, or a hexadecimal one with 0x or 0X (a leading zero is still
// decimal, never octal).
func numericalValue(v string) (int64, error) {
	if h, ok := strings.CutPrefix(v, "0x"); ok {
		return strconv.ParseInt(h, 16, 64)
	}
	if h, ok := strings.CutPrefix(v, "0X"); ok {
		return strconv.ParseInt(h, 16, 64)
	}
	return strconv.ParseInt(v, 10, 64)
}

func (l *login) chapResponse(keys textKeys) (*loginReq, bool, error) {
	if a, _ := keys.get("CHAP_A"); a != "5" {
		return nil, false, l.fail("CHAP_A", a, "only CHAP with MD5 (5) is supported")
	}
	idStr, ok := keys.get("CHAP_I")
	id, err := numericalValue(idStr)
	if !ok || err != nil || id < 0 || id > 255 {
		return nil, false, l.fail("CHAP_I", idStr, "not an identifier from 0 to 255")
	}
	cStr, _ := keys.get("CHAP_C")
	challenge, err := decodeBinary(cStr)
	if err != nil || len(challenge) == 0 || len(challenge) > 1024 {
		return nil, false, l.fail("CHAP_C", cStr, "not a challenge of 1 to 1024 bytes")
	}
	out := textKeys{{"CHAP_N", l.cfg.User}, {"CHAP_R", "0x" + hex.EncodeToString(chapMD5(byte(id), l.cfg.Secret, challenge))}}
	if l.cfg.MutualSecret != "" {
		var buf [17]byte
		if _, err := io.ReadFull(l.cfg.Rand, buf[:]); err != nil {
			return nil, false, fmt.Errorf("iscsi: CHAP challenge: %w", err)
		}
		l.mutualID, l.mutualChallenge = buf[0], buf[1:]
		if subtle.ConstantTimeCompare(l.mutualChallenge, challenge) == 1 {
			return nil, false, l.fail("CHAP_C", cStr, "target challenge equals ours")
		}
		out = append(out, textKV{"CHAP_I", strconv.Itoa(int(l.mutualID))}, textKV{"CHAP_C", "0x" + hex.EncodeToString(l.mutualChallenge)})
	}
	l.sec = secResponse
	next, err := l.request(true, stageOperational, out)
	return next, false, err
}

func (l *login) checkMutual(keys textKeys) error {
	name, _ := keys.get("CHAP_N")
	resp, _ := keys.get("CHAP_R")
	if l.cfg.MutualUser != "" && name != l.cfg.MutualUser {
		return fmt.Errorf("%w: mutual CHAP: target calls itself %q, want %q", ErrAuthentication, name, l.cfg.MutualUser)
	}
	got, err := decodeBinary(resp)
	want := chapMD5(l.mutualID, l.cfg.MutualSecret, l.mutualChallenge)
	if err != nil || subtle.ConstantTimeCompare(got, want) != 1 {
		return fmt.Errorf("%w: mutual CHAP: target response %q does not match the secret", ErrAuthentication, resp)
	}
	return nil
}

func chapMD5(id byte, secret string, challenge []byte) []byte {
	h := md5.New()
	h.Write([]byte{id})
	h.Write([]byte(secret))
	h.Write(challenge)
	return h.Sum(nil)
}

// decodeBinary decodes a binary value: 0x hex or 0b base64 (RFC 7143 6.1).
func decodeBinary(s string) ([]byte, error) {
	switch {
	case strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X"):
		h := s[2:]
		if len(h)%2 == 1 {
			h = "0" + h
		}
		return hex.DecodeString(h)
	case strings.HasPrefix(s, "0b") || strings.HasPrefix(s, "0B"):
		return base64.StdEncoding.DecodeString(s[2:])
	}
	return nil, fmt.Errorf("binary value %q lacks 0x or 0b", s)
}

// toOperational moves on once the target agreed to leave the security
// stage; until then it sends empty requests asking to transit.
func (l *login) toOperational(r *loginResp) (*loginReq, bool, error) {
	if !r.Transit {
		next, err := l.request(true, stageOperational, nil)
		return next, false, err
	}
	switch r.NSG {
	case stageOperational:
	case stageFullFeature:
		// The target skipped operational negotiation: defaults hold.
		return nil, true, l.finish()
	default:
		return nil, false, &ProtocolError{PDU: opLoginResp.String(), What: fmt.Sprintf("transit to stage %d", r.NSG)}
	}
	l.stage = stageOperational
	l.offered = map[string]string{
		"HeaderDigest":             l.cfg.HeaderDigest.offer(),
		"DataDigest":               l.cfg.DataDigest.offer(),
		"MaxRecvDataSegmentLength": strconv.Itoa(l.cfg.MaxRecvDataSegmentLength),
		"InitialR2T":               yesNo(l.cfg.InitialR2T),
		"ImmediateData":            yesNo(l.cfg.ImmediateData),
		"FirstBurstLength":         strconv.Itoa(l.cfg.FirstBurstLength),
		"MaxBurstLength":           strconv.Itoa(l.cfg.MaxBurstLength),
		"MaxOutstandingR2T":        "1",
		"ErrorRecoveryLevel":       "0",
		"DataPDUInOrder":           "Yes",
		"DataSequenceInOrder":      "Yes",
		"DefaultTime2Wait":         "2",
		"DefaultTime2Retain":       "0",
		"MaxConnections":           "1",
	}
	var keys textKeys
	for _, k := range operationalKeys {
		keys = append(keys, textKV{k, l.offered[k]})
	}
	l.params.MaxRecvDataSegmentLength = l.cfg.MaxRecvDataSegmentLength
	next, err := l.request(true, stageFullFeature, keys)
	return next, false, err
}

// operationalKeys is the order the operational keys are sent in.
var operationalKeys = []string{"HeaderDigest", "DataDigest", "MaxRecvDataSegmentLength", "InitialR2T", "ImmediateData",
	"FirstBurstLength", "MaxBurstLength", "MaxOutstandingR2T", "ErrorRecoveryLevel", "DataPDUInOrder",
	"DataSequenceInOrder", "DefaultTime2Wait", "DefaultTime2Retain", "MaxConnections"}

func yesNo(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}

func (l *login) operational(r *loginResp, keys textKeys) (*loginReq, bool, error) {
	var reply textKeys
	for _, kv := range keys {
		if err := l.apply(kv, &reply); err != nil {
			return nil, false, err
		}
	}
	if r.Transit {
		if r.NSG != stageFullFeature {
			return nil, false, &ProtocolError{PDU: opLoginResp.String(), What: fmt.Sprintf("transit to stage %d from the operational stage", r.NSG)}
		}
		return nil, true, l.finish()
	}
	next, err := l.request(true, stageFullFeature, reply)
	return next, false, err
}

// apply records one key from the target. Keys the target offers on its own
// get an answer in reply.
func (l *login) apply(kv textKV, reply *textKeys) error {
	k, v := kv.Key, kv.Value
	offer, offered := l.offered[k]
	if v == "Reject" || v == "Irrelevant" || v == "NotUnderstood" {
		switch k {
		case "ErrorRecoveryLevel", "MaxOutstandingR2T":
			return l.fail(k, v, "required key refused")
		}
		if (k == "HeaderDigest" || k == "DataDigest") && offer == "CRC32C" {
			return l.fail(k, v, "CRC32C required")
		}
		return nil // the default holds
	}
	num := func(lo, hi int) (int, error) {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return 0, l.fail(k, v, fmt.Sprintf("want a number from %d to %d", lo, hi))
		}
		return n, nil
	}
	boolean := func() (bool, error) {
		switch v {
		case "Yes":
			return true, nil
		case "No":
			return false, nil
		}
		return false, l.fail(k, v, "want Yes or No")
	}
	l.answered[k] = true
	var err error
	switch k {
	case "HeaderDigest", "DataDigest":
		if v != "None" && v != "CRC32C" || offered && !strings.Contains(offer, v) {
			return l.fail(k, v, "offered "+offer)
		}
		if k == "HeaderDigest" {
			l.params.HeaderDigest = v == "CRC32C"
		} else {
			l.params.DataDigest = v == "CRC32C"
		}
		if !offered {
			*reply = append(*reply, kv)
		}
	case "MaxRecvDataSegmentLength":
		l.params.MaxXmitDataSegmentLength, err = num(512, maxDataSegment)
	case "InitialR2T":
		var b bool
		b, err = boolean()
		l.params.InitialR2T = b || l.cfg.InitialR2T
		if !offered {
			*reply = append(*reply, textKV{k, yesNo(l.params.InitialR2T)})
		}
	case "ImmediateData":
		var b bool
		b, err = boolean()
		l.params.ImmediateData = b && l.cfg.ImmediateData
		if !offered {
			*reply = append(*reply, textKV{k, yesNo(l.params.ImmediateData)})
		}
	case "FirstBurstLength":
		l.params.FirstBurstLength, err = num(512, l.cfg.FirstBurstLength)
	case "MaxBurstLength":
		l.params.MaxBurstLength, err = num(512, l.cfg.MaxBurstLength)
	case "MaxOutstandingR2T":
		l.params.MaxOutstandingR2T, err = num(1, 1)
	case "ErrorRecoveryLevel":
		l.params.ErrorRecoveryLevel, err = num(0, 0)
	case "DataPDUInOrder", "DataSequenceInOrder":
		var b bool
		if b, err = boolean(); err == nil && !b {
			return l.fail(k, v, "offered Yes, and the result of OR is Yes")
		}
	case "DefaultTime2Wait":
		l.params.DefaultTime2Wait, err = num(0, 3600)
	case "DefaultTime2Retain":
		l.params.DefaultTime2Retain, err = num(0, 3600)
	case "MaxConnections":
		_, err = num(1, 1)
	case "TargetAlias":
		l.params.TargetAlias = v
	case "TargetPortalGroupTag":
		l.params.TargetPortalGroupTag, err = num(0, 65535)
	case "IFMarker", "OFMarker":
		*reply = append(*reply, textKV{k, "No"})
	default:
		*reply = append(*reply, textKV{k, "NotUnderstood"})
	}
	return err
}

// finish checks the negotiated values once the target reached the full
// feature phase.
func (l *login) finish() error {
	if l.offered != nil {
		for _, k := range []string{"ImmediateData", "InitialR2T"} {
			if !l.answered[k] {
				// Unanswered: RFC defaults combined with our offer.
				switch k {
				case "ImmediateData":
					l.params.ImmediateData = l.cfg.ImmediateData
				case "InitialR2T":
					l.params.InitialR2T = true
				}
			}
		}
		if l.offered["HeaderDigest"] == "CRC32C" && !l.params.HeaderDigest ||
			l.offered["DataDigest"] == "CRC32C" && !l.params.DataDigest {
			return l.fail("HeaderDigest/DataDigest", "None", "CRC32C required")
		}
	}
	if l.params.FirstBurstLength > l.params.MaxBurstLength {
		l.params.FirstBurstLength = l.params.MaxBurstLength
	}
	return nil
}

// redirectAddr turns a TargetAddress value, domainname[:port][,tag], into a
// host:port to dial.
func redirectAddr(v string) string {
	v, _, _ = strings.Cut(v, ",")
	if v == "" {
		return ""
	}
	if strings.HasPrefix(v, "[") {
		if strings.HasSuffix(v, "]") {
			return v + ":" + strconv.Itoa(DefaultPort)
		}
		return v
	}
	if !strings.Contains(v, ":") {
		return v + ":" + strconv.Itoa(DefaultPort)
	}
	return v
}
