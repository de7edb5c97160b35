package scsi

import "testing"

func TestNodeKey(t *testing.T) {
	tests := []struct {
		cluster string
		node    int
		want    Key
	}{
		{"alpha", 1, 0x686b8ed3f6ad0001}, // sha256("alpha") = 8ed3f6ad...
		{"alpha", 2, 0x686b8ed3f6ad0002},
		{"alpha", 65535, 0x686b8ed3f6adffff},
	}
	for _, tc := range tests {
		got, err := NodeKey(tc.cluster, tc.node)
		if err != nil || got != tc.want {
			t.Errorf("NodeKey(%q, %d) = %v, %v; want %v", tc.cluster, tc.node, got, err, tc.want)
		}
		if n, ok := KeyNode(got, tc.cluster); !ok || n != tc.node || !IsHakitKey(got) {
			t.Errorf("KeyNode(%v) = %d, %v", got, n, ok)
		}
		if _, ok := KeyNode(got, "beta"); ok {
			t.Errorf("KeyNode(%v, beta) matched", got)
		}
	}
	for _, bad := range []struct {
		c string
		n int
	}{{"", 1}, {"a", 0}, {"a", 65536}, {"a", -1}} {
		if _, err := NodeKey(bad.c, bad.n); err == nil {
			t.Errorf("NodeKey(%q, %d): no error", bad.c, bad.n)
		}
	}
	if IsHakitKey(0x6c9d0001) {
		t.Error("fence_scsi key taken for a hakit key")
	}
}

// fence_scsi's keys (fence-agents 4.12): md5("mycluster") = 6c9d58de...,
// md5("node1") = 164546f6...
func TestFenceSCSIKeys(t *testing.T) {
	if k, err := FenceSCSIKey("mycluster", 1); err != nil || k != 0x6c9d0001 {
		t.Errorf("FenceSCSIKey = %v, %v", k, err)
	}
	if k, err := FenceSCSIKey("mycluster", 12); err != nil || k != 0x6c9d0012 {
		t.Errorf("FenceSCSIKey node 12 = %v, %v", k, err)
	}
	if k, err := FenceSCSIHashKey("mycluster", "node1"); err != nil || k != 0x6c9d1645 {
		t.Errorf("FenceSCSIHashKey = %v, %v", k, err)
	}
	for _, err := range []error{
		func() error { _, err := FenceSCSIKey("", 1); return err }(),
		func() error { _, err := FenceSCSIKey("c", 0); return err }(),
		func() error { _, err := FenceSCSIKey("c", 10000); return err }(),
		func() error { _, err := FenceSCSIHashKey("c", ""); return err }(),
	} {
		if err == nil {
			t.Error("bad fence_scsi input accepted")
		}
	}
}

// hwcheck's test keys: the node key's layout with "hc", never a node key
// or a fence_scsi key, one per node.
func TestHWCheckKey(t *testing.T) {
	for _, tc := range []struct {
		cluster string
		node    int
		want    Key
	}{
		{"alpha", 1, 0x68638ed3f6ad0001},
		{"alpha", 2, 0x68638ed3f6ad0002},
		{"42", 65535, 0},
	} {
		got, err := HWCheckKey(tc.cluster, tc.node)
		if err != nil || (tc.want != 0 && got != tc.want) {
			t.Errorf("HWCheckKey(%q, %d) = %v, %v; want %v", tc.cluster, tc.node, got, err, tc.want)
		}
		nk, _ := NodeKey(tc.cluster, tc.node)
		if got == nk || IsHakitKey(got) || !IsHWCheckKey(got) || IsHWCheckKey(nk) {
			t.Errorf("HWCheckKey(%q, %d) = %v: not told apart from the node key %v", tc.cluster, tc.node, got, nk)
		}
		if _, ok := KeyNode(got, tc.cluster); ok {
			t.Errorf("KeyNode took the test key %v for a node key", got)
		}
		if fs, err := FenceSCSIKey(tc.cluster, min(tc.node, 9999)); err == nil && fs == got {
			t.Errorf("test key %v equals a fence_scsi key", got)
		}
	}
	a, _ := HWCheckKey("c", 1)
	b, _ := HWCheckKey("c", 2)
	if a == b {
		t.Error("two nodes share a test key")
	}
	for _, bad := range []struct {
		c string
		n int
	}{{"", 1}, {"a", 0}, {"a", 65536}} {
		if _, err := HWCheckKey(bad.c, bad.n); err == nil {
			t.Errorf("HWCheckKey(%q, %d): no error", bad.c, bad.n)
		}
	}
}
