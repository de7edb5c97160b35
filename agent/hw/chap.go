package hw

import (
	"fmt"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/internal/secretfile"
	"github.com/hakit/hakit/scsi/iscsi"
)

// chapCreds are the CHAP credentials of one login: this initiator's
// (User, Secret) and, for mutual CHAP, what the target must prove
// (TargetSecret, and TargetUser when set).
type chapCreds struct{ User, Secret, TargetUser, TargetSecret string }

// readCHAP reads the secret files a disk names; errors name the field and
// the file, never a secret.
func readCHAP(c agent.DiskConfig) (chapCreds, error) {
	s := chapCreds{User: c.CHAPUser, TargetUser: c.TargetCHAPUser}
	for _, f := range []struct {
		field, path string
		dst         *string
	}{
		{"chap_secret_file", c.CHAPSecretFile, &s.Secret},
		{"target_chap_secret_file", c.TargetCHAPSecretFile, &s.TargetSecret},
	} {
		if f.path == "" {
			continue
		}
		b, err := secretfile.Read(f.path)
		if err != nil {
			return chapCreds{}, fmt.Errorf("%s: %w", f.field, err)
		}
		*f.dst = string(b)
	}
	return s, nil
}

// forURL completes the credentials with a user%password from the device
// URL when chap_user is not set (the configuration allows one of the two).
func (c chapCreds) forURL(u iscsi.URL) chapCreds {
	if c.User == "" {
		c.User, c.Secret = u.User, u.Password
	}
	return c
}

// apply puts the credentials into a session's configuration.
func (c chapCreds) apply(cfg *iscsi.Config) {
	cfg.CHAPUser, cfg.CHAPSecret = c.User, c.Secret
	cfg.MutualCHAPUser, cfg.MutualCHAPSecret = c.TargetUser, c.TargetSecret
}
