package sbdcli

import "crypto/rand"

// newUUID fills b (16 bytes) with a random (version 4) UUID, as
// uuid_generate does when /dev/urandom is there.
func newUUID(b []byte) (int, error) {
	n, err := rand.Read(b)
	if err != nil {
		return n, err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return n, nil
}
