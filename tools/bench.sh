#!/usr/bin/env bash
# Runs the benchmarks whose figures the issues ask for, each with the run
# count it needs, and prints a summary of the figures at the end.
# IDLE_WINDOW (default 60s) is how long the idle agent is measured.
set -euo pipefail
out=$(mktemp)
trap 'rm -f "$out"' EXIT
IDLE_WINDOW=${IDLE_WINDOW:-60s}
# SOAK (default 10m) is how long each serial heartbeat soak setting runs
# (3 settings x normal/real-time: 6 x SOAK in all).
SOAK=${SOAK:-10m}

bench() { # package regexp benchtime
	echo "bench: $1 $2 ($3)"
	go test -timeout 3h -run '^$' -bench "$2" -benchtime "$3" "$1" | tee -a "$out"
}

bench ./scsi/ '^Benchmark(Fence|Status)$' 200x  # Fence (with read-back) and Status, medians
bench ./scsi/ 'FenceRegistrants' 100x             # fence time against 2, 4, 8, 16 registrants
bench ./scsi/ 'FenceLUNs' 100x                    # fence of one member on every LUN against 1, 8, 16 LUNs
bench ./scsi/ 'Rejoin' 50x                         # dropped session -> registration whole again
bench ./scsi/iscsi/ 'TestUnitReady|Read64K' 2000x  # initiator round trips on loopback tgtd
bench ./serialhb/ 'Encode|Decode' 1s               # frame codec ns/op
bench ./serialhb/ 'DetectDeadPeer' 1x              # 200 trials, keepalive 10 ms, deadtime 50 ms
HAKIT_SERIALHB_SOAK=$SOAK bench ./serialhb/ 'Soak' 1x  # false deaths and worst silence under load, 10/50 20/100 50/250, normal and real-time (kworkers at nice -20)
bench ./nic/ 'LinkEventLatency' 200x               # netlink request -> subscriber event, 200 flaps
bench ./nic/ 'CarrierPoll' 5x                      # polling /sys/class/net/IF/carrier once a second
bench ./raidctl/ '.' 1s                            # parsers and the pair validator
HAKIT_IDLE_WINDOW=$IDLE_WINDOW bench ./agent/hw/ 'AgentIdle' 1x   # idle RSS and CPU, keepalive 100 ms
bench ./sbd/ 'DiskBeatDetect' 20x                 # SIGSTOPped writer -> dead on the disk path, interval 500 ms
SBD_BEAT_LOAD_S=${SBD_BEAT_LOAD_S:-600} bench ./sbd/ 'DiskBeatLoad' 1x  # false deaths in 10 min of O_DIRECT write load on the same disk
bench ./check/ 'HWCheckRig' 3x                     # hwcheck's total time on the rig

echo
echo "== summary (custom figures per benchmark)"
grep '^Benchmark' "$out" | sed 's/-[0-9]*[[:space:]]/ /' | awk '{printf "%-28s", $1; for (i = 3; i < NF; i += 2) printf " %s=%s", $(i+1), $i; printf "\n"}'
