package hw

import (
	"fmt"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/internal/secretfile"
)

// chapSecrets are a disk's CHAP secrets read from their files.
type chapSecrets struct{ own, target string }

// readCHAP reads the secret files a disk names; errors name the field and
// the file, never a secret.
func readCHAP(c agent.DiskConfig) (chapSecrets, error) {
	var s chapSecrets
	for _, f := range []struct {
		field, path string
		dst         *string
	}{
		{"chap_secret_file", c.CHAPSecretFile, &s.own},
		{"target_chap_secret_file", c.TargetCHAPSecretFile, &s.target},
	} {
		if f.path == "" {
			continue
		}
		b, err := secretfile.Read(f.path)
		if err != nil {
			return chapSecrets{}, fmt.Errorf("%s: %w", f.field, err)
		}
		*f.dst = string(b)
	}
	return s, nil
}
