package sbd

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestBeatCodec(t *testing.T) {
	b := Beat{Counter: 42, Incarnation: 7, Time: time.Unix(1700000000, 5).UTC(), Interval: 500 * time.Millisecond, Serial: PathUp, NIC: PathDown, Name: "node-a"}
	sec, err := b.MarshalSector(512)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseBeat(sec)
	if err != nil || got != b {
		t.Fatalf("round trip %+v %v, want %+v", got, err, b)
	}
	torn := append([]byte(nil), sec...)
	torn[9] ^= 1
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{{"zero", make([]byte, 512), ErrNoBeat}, {"torn", torn, ErrBeatCRC}, {"short", sec[:50], ErrShort}} {
		if _, err := ParseBeat(tc.b); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if EndSector(Slots) != HeartbeatSector(Slots, 0) || AreaSectors(Slots) != 766 {
		t.Errorf("heartbeat area: first %d, end %d", HeartbeatSector(Slots, 0), AreaSectors(Slots))
	}
}

// TestTracker: a block seen but never moving is unknown; moving is alive;
// standing still DeadAfter is dead; a read error is unknown, never dead;
// a new incarnation is alive again.
func TestTracker(t *testing.T) {
	t0 := time.Unix(0, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	tr := &Tracker{DeadAfter: 2 * time.Second}
	steps := []struct {
		ms   int
		beat *Beat // nil: read failed
		want Liveness
	}{
		{0, &Beat{Counter: 5, Incarnation: 1}, Unknown},
		{3000, &Beat{Counter: 5, Incarnation: 1}, Unknown},
		{3500, &Beat{Counter: 6, Incarnation: 1}, Alive},
		{5400, &Beat{Counter: 6, Incarnation: 1}, Alive},
		{5500, &Beat{Counter: 6, Incarnation: 1}, Dead},
		{6000, nil, Unknown},
		{6500, &Beat{Counter: 6, Incarnation: 1}, Dead},
		{7000, &Beat{Counter: 1, Incarnation: 2}, Alive},
	}
	for _, s := range steps {
		if s.beat == nil {
			tr.ReadFailed()
		} else {
			tr.Observe(*s.beat, at(s.ms))
		}
		if got := tr.Verdict(at(s.ms)); got != s.want {
			t.Errorf("at %d ms: %s, want %s", s.ms, got, s.want)
		}
	}
}

// TestBeatHandover: a block with a handover request is version 2 and
// round trips; without one it stays version 1, as version 1 readers
// expect; bad requests do not encode; a torn version 2 block is no block.
func TestBeatHandover(t *testing.T) {
	tid := "\x45\x00\x00\x14iqn.x:c\x00,i,0x\x80\x01\x02\x03\x04\x05\x00"
	b := Beat{Counter: 3, Incarnation: 9, Time: time.Unix(1700000000, 0).UTC(), Interval: time.Second, Name: "node-c",
		Handover: Handover{Seq: 2, Disk: "naa.60014050000000000000000000000001", Key: 0x686b000000000003, TransportID: tid},
		Answer:   Answer{Key: 0x686b000000000001, Seq: 7, Code: AnswerMoved}}
	for _, ss := range []int{512, 4096} {
		sec, err := b.MarshalSector(ss)
		if err != nil {
			t.Fatal(err)
		}
		if sec[4] != 2 {
			t.Errorf("version %d with a request, want 2", sec[4])
		}
		got, err := ParseBeat(sec)
		if err != nil || got != b {
			t.Fatalf("round trip %+v %v, want %+v", got, err, b)
		}
		torn := append([]byte(nil), sec...)
		torn[200] ^= 1
		if _, err := ParseBeat(torn); !errors.Is(err, ErrBeatCRC) {
			t.Errorf("torn version 2 block: %v", err)
		}
		if _, err := ParseBeat(sec[:300]); !errors.Is(err, ErrShort) {
			t.Errorf("short version 2 block: %v", err)
		}
	}
	answerOnly := b
	answerOnly.Handover = Handover{}
	sec, _ := answerOnly.MarshalSector(512)
	if got, err := ParseBeat(sec); err != nil || got != answerOnly || sec[4] != 2 {
		t.Errorf("answer only: %+v %v version %d", got, err, sec[4])
	}
	plain := b
	plain.Handover, plain.Answer = Handover{}, Answer{}
	sec, _ = plain.MarshalSector(512)
	if sec[4] != 1 {
		t.Errorf("version %d without a request, want 1", sec[4])
	}
	for _, bad := range []Handover{
		{Seq: 1, Disk: strings.Repeat("d", HandoverDiskMax+1)},
		{Seq: 1, Disk: "a\x00b"},
		{Seq: 1, TransportID: strings.Repeat("t", HandoverTransportIDMax+1)},
	} {
		if _, err := (Beat{Handover: bad}).MarshalSector(512); err == nil {
			t.Errorf("request %+v encoded", bad)
		}
	}
	if _, err := b.MarshalSector(256); err == nil {
		t.Error("version 2 block in a 256-byte sector encoded")
	}
}

func FuzzParseBeat(f *testing.F) {
	b, _ := Beat{Counter: 1, Name: "n"}.MarshalSector(512)
	f.Add(b)
	b, _ = Beat{Counter: 1, Name: "n", Handover: Handover{Seq: 1, Disk: "naa.6001", Key: 3, TransportID: "\x45\x00\x00\x04abc\x00"}}.MarshalSector(512)
	f.Add(b)
	f.Add(make([]byte, 512))
	f.Fuzz(func(t *testing.T, in []byte) {
		b, err := ParseBeat(in)
		if err != nil {
			return
		}
		enc, err := b.MarshalSector(512)
		if err != nil {
			t.Fatalf("decoded block does not encode: %v", err)
		}
		if b2, err := ParseBeat(enc); err != nil || b2 != b {
			t.Fatalf("round trip %+v -> %+v %v", b, b2, err)
		}
	})
}
