// Command recordsvc is the acceptance tests' data service: a small TCP
// service whose records live on the shared LUN, one block each, written
// and read through the local hwagent (POST /v1/blocks/write|read), so
// through the owning node's registered path. Pacemaker runs `recordsvc
// serve` (ocf:heartbeat:anything) in the group after the disk and the
// floating IP; a client runs `recordsvc put|get`.
//
//	recordsvc serve --listen IP:PORT --device DEV [--socket S] [--region-start N --region-len N]
//	recordsvc put --addr IP:PORT N PAYLOAD   prints the record's SHA-256
//	recordsvc get --addr IP:PORT N           prints PAYLOAD and its SHA-256
//
// A record block: magic HKREC001, the record number (8 bytes), the
// payload's length (2 bytes), SHA-256 of number and payload, the payload
// (at most 400 bytes); a block whose checksum does not match is an error,
// never a record.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/scsi"
)

const (
	magic      = "HKREC001"
	maxPayload = 400
	blockSize  = 512
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  recordsvc serve --listen IP:PORT --device DEV [--socket PATH] [--region-start LBA] [--region-len BLOCKS]
  recordsvc put --addr IP:PORT N PAYLOAD
  recordsvc get --addr IP:PORT N
Records live one per block on the shared disk DEV, written through the local hwagent.
`)
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	fs := flag.NewFlagSet("recordsvc "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "", "address to serve on")
	addr := fs.String("addr", "", "the service's address")
	device := fs.String("device", "", "the shared disk, as in hwagent.yaml")
	sock := fs.String("socket", agent.DefaultSocket, "hwagent's API socket")
	start := fs.Uint64("region-start", 8192, "first block of the records")
	n := fs.Uint64("region-len", 4096, "blocks of the records")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	switch args[0] {
	case "serve":
		if *listen == "" || *device == "" {
			fmt.Fprintln(stderr, "recordsvc serve: --listen and --device are required")
			return 2
		}
		s := &server{c: agent.NewClient(*sock), device: *device, region: scsi.Region{Start: *start, Len: *n}}
		// serve returns only when the listener fails.
		fmt.Fprintln(stderr, "recordsvc:", s.serve(*listen, stderr))
		return 1
	case "put", "get":
		want := map[string]int{"put": 2, "get": 1}[args[0]]
		if *addr == "" || fs.NArg() != want {
			fmt.Fprintf(stderr, "recordsvc %s: want --addr and %d argument(s)\n", args[0], want)
			return 2
		}
		line := strings.ToUpper(args[0]) + " " + strings.Join(fs.Args(), " ")
		out, err := call(ctx, *addr, line)
		if err != nil {
			fmt.Fprintln(stderr, "recordsvc:", err)
			return 1
		}
		fmt.Fprintln(stdout, out)
		return 0
	}
	usage(stderr)
	return 2
}

// call sends one request line and returns the answer after "OK ".
func call(ctx context.Context, addr, line string) (string, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if _, err := fmt.Fprintln(conn, line); err != nil {
		return "", err
	}
	ans, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return "", err
	}
	ans = strings.TrimSpace(ans)
	if rest, ok := strings.CutPrefix(ans, "OK "); ok {
		return rest, nil
	}
	return "", errors.New(ans)
}

type server struct {
	c      *agent.Client
	device string
	region scsi.Region
}

func (s *server) serve(listen string, log io.Writer) error {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "recordsvc: serving %s, records on %s blocks %s\n", listen, s.device, s.region)
	for {
		conn, err := ln.Accept()
		if err != nil {
			return err
		}
		go s.handle(conn)
	}
}

func (s *server) handle(conn net.Conn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(io.LimitReader(conn, 1024)).ReadString('\n')
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	ans, err := s.do(ctx, strings.TrimSpace(line))
	if err != nil {
		fmt.Fprintf(conn, "ERR %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
		return
	}
	fmt.Fprintf(conn, "OK %s\n", ans)
}

func (s *server) do(ctx context.Context, line string) (string, error) {
	verb, rest, _ := strings.Cut(line, " ")
	num, payload, _ := strings.Cut(rest, " ")
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil || n >= s.region.Len {
		return "", fmt.Errorf("record number %q: want 0 to %d", num, s.region.Len-1)
	}
	switch verb {
	case "PUT":
		b, sum, err := encode(n, []byte(payload))
		if err != nil {
			return "", err
		}
		if _, err := s.c.WriteBlocks(ctx, s.device, s.region, s.region.Start+n, b); err != nil {
			return "", err
		}
		return fmt.Sprintf("%d %s", n, sum), nil
	case "GET":
		r, err := s.c.ReadBlocks(ctx, s.device, s.region.Start+n, 1)
		if err != nil {
			return "", err
		}
		p, sum, err := decode(n, r.Data)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%d %s %s", n, p, sum), nil
	}
	return "", fmt.Errorf("verb %q: want PUT or GET", verb)
}

func checksum(n uint64, payload []byte) [32]byte {
	var num [8]byte
	binary.BigEndian.PutUint64(num[:], n)
	return sha256.Sum256(append(num[:], payload...))
}

// encode is record n as one block, and its checksum in hex.
func encode(n uint64, payload []byte) ([]byte, string, error) {
	if len(payload) > maxPayload || bytes.ContainsAny(payload, " \n") {
		return nil, "", fmt.Errorf("payload of %d bytes: want at most %d, without spaces", len(payload), maxPayload)
	}
	b := make([]byte, blockSize)
	copy(b, magic)
	binary.BigEndian.PutUint64(b[8:], n)
	binary.BigEndian.PutUint16(b[16:], uint16(len(payload)))
	sum := checksum(n, payload)
	copy(b[18:50], sum[:])
	copy(b[50:], payload)
	return b, hex.EncodeToString(sum[:]), nil
}

// decode checks block b as record n.
func decode(n uint64, b []byte) (string, string, error) {
	if len(b) < 50 || string(b[:8]) != magic {
		return "", "", fmt.Errorf("record %d: no record in its block", n)
	}
	if got := binary.BigEndian.Uint64(b[8:]); got != n {
		return "", "", fmt.Errorf("record %d: its block holds record %d", n, got)
	}
	l := int(binary.BigEndian.Uint16(b[16:]))
	if l > maxPayload || 50+l > len(b) {
		return "", "", fmt.Errorf("record %d: length %d", n, l)
	}
	p := b[50 : 50+l]
	sum := checksum(n, p)
	if !bytes.Equal(sum[:], b[18:50]) {
		return "", "", fmt.Errorf("record %d: checksum mismatch", n)
	}
	return string(p), hex.EncodeToString(sum[:]), nil
}
