package iscsi

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// recordConn keeps a copy of every byte read from and written to a
// connection.
type recordConn struct {
	net.Conn
	mu      sync.Mutex
	in, out []byte
}

func (c *recordConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.mu.Lock()
	c.in = append(c.in, b[:n]...)
	c.mu.Unlock()
	return n, err
}

func (c *recordConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.mu.Lock()
	c.out = append(c.out, b[:n]...)
	c.mu.Unlock()
	return n, err
}

// summarize decodes a recorded stream (no digests) into one line a PDU.
func summarize(stream []byte) ([]string, error) {
	var lines []string
	for len(stream) > 0 {
		raw, n, err := decodePDU(stream, digests{}, 1<<20)
		if err != nil {
			return lines, err
		}
		stream = stream[n:]
		m, err := parseMessage(raw)
		if err != nil {
			return lines, err
		}
		line := fmt.Sprintf("%v", opOf(m))
		switch m := m.(type) {
		case *loginReq, *loginResp:
			keys, err := decodeText(raw.Data)
			if err != nil {
				return lines, err
			}
			for _, kv := range keys {
				if strings.HasPrefix(kv.Key, "Initiator") || kv.Key == "TargetName" {
					continue // names differ between runs
				}
				line += " " + kv.Key + "=" + kv.Value
			}
		case *scsiCmd:
			line += fmt.Sprintf(" cdb=%02x edtl=%d F=%v R=%v W=%v", m.CDB[0], m.ExpectedLen, m.Final, m.Read, m.Write)
		case *scsiResp:
			line += fmt.Sprintf(" status=%#x sense=%d", m.Status, len(m.Data))
		case *dataIn:
			line += fmt.Sprintf(" len=%d offset=%d S=%v status=%#x U=%v residual=%d", len(m.Data), m.Offset, m.HasStatus, m.Status, m.Underflow, m.Residual)
		case *tmReq:
			line += fmt.Sprintf(" function=%d", m.Function)
		case *tmResp:
			line += fmt.Sprintf(" response=%d", m.Response)
		case *logoutResp:
			line += fmt.Sprintf(" response=%d time2wait=%d", m.Response, m.Time2Wait)
		}
		lines = append(lines, line)
	}
	return lines, nil
}

// TestCapturedTgtd decodes a session recorded against tgtd (by
// TestIntegrationCapture with -update) and compares it with its summary.
func TestCapturedTgtd(t *testing.T) {
	for _, dir := range []string{"sent", "received"} {
		t.Run(dir, func(t *testing.T) {
			stream, err := os.ReadFile(filepath.Join("testdata", "tgtd", dir+".bin"))
			if err != nil {
				t.Fatal(err)
			}
			lines, err := summarize(stream)
			if err != nil {
				t.Fatalf("decode after %d PDUs: %v", len(lines), err)
			}
			want, err := os.ReadFile(filepath.Join("testdata", "tgtd", dir+".golden"))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), strings.Join(lines, "\n")+"\n"); diff != "" {
				t.Errorf("summary (-golden +decoded):\n%s", diff)
			}
		})
	}
}
