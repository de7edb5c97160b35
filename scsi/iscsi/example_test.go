package iscsi_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/scsi/iscsi"
)

func Example() {
	u, err := iscsi.ParseURL("iscsi://127.0.0.1:3260/iqn.2024-01.test.ha:shared/1")
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := iscsi.Dial(ctx, u, iscsi.Config{
		InitiatorName: "iqn.2026-11.io.hakit:node-a",
		OnReconnect: func(ctx context.Context, ev iscsi.ReconnectEvent) {
			// The target gave a new session: restore what it tied to the
			// old one (e.g. a persistent reservation registration).
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	resp, err := s.Execute(ctx, &scsi.Command{CDB: []byte{0x12, 0, 0, 0, 36, 0}, Direction: scsi.FromDevice, AllocLen: 36})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%v %q\n", resp.Status, resp.Data[8:16])
}
