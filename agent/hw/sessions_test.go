package hw

import (
	"testing"

	"github.com/hakit/hakit/scsi/iscsi"
)

// Disks share a session only with the same credentials: a disk that asks
// for mutual CHAP never rides on a session that did not authenticate the
// target, nor on one logged in with another target secret.
func TestSessionKeyCarriesCredentials(t *testing.T) {
	u, err := iscsi.ParseURL("iscsi://127.0.0.1:3260/iqn.2026-11.io.hakit:t/1")
	if err != nil {
		t.Fatal(err)
	}
	const ini = "iqn.2026-11.io.hakit:node-a"
	plain := chapCreds{User: "alice", Secret: "s1"}
	mutual := chapCreds{User: "alice", Secret: "s1", TargetUser: "disk", TargetSecret: "t1"}
	keys := map[string]string{}
	for name, c := range map[string]chapCreds{
		"none":           {},
		"chap":           plain,
		"mutual":         mutual,
		"other target":   {User: "alice", Secret: "s1", TargetUser: "disk", TargetSecret: "t2"},
		"target no name": {User: "alice", Secret: "s1", TargetSecret: "t1"},
	} {
		k := sessionKey(u, ini, c)
		if other, dup := keys[k]; dup {
			t.Errorf("%s and %s share a session key", name, other)
		}
		keys[k] = name
	}
	if again := mutual; sessionKey(u, ini, mutual) != sessionKey(u, ini, again) {
		t.Error("the same credentials give two keys")
	}
	// The URL's user%password is the same login as chap_user with its file.
	withURL, err := iscsi.ParseURL("iscsi://alice%s1@127.0.0.1:3260/iqn.2026-11.io.hakit:t/1")
	if err != nil {
		t.Fatal(err)
	}
	if sessionKey(withURL, ini, chapCreds{}.forURL(withURL)) != sessionKey(u, ini, plain) {
		t.Error("CHAP from the URL and from chap_user differ")
	}
}
