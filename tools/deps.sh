#!/bin/sh
# Installs what hakit's tests, benchmarks and demo need on Debian 12:
# the apt packages below and the Go modules of go.mod. Idempotent, and quiet
# when everything is already there.
set -eu

# pacemaker, corosync and the rest: the two-node cluster of internal/rig/pcmk
# (libxml2-utils: xmllint checks fence_hwagent's metadata). sbd: the SBD
# interop tests (sbd/sbdcli) run its create, dump, list, allocate and
# message verbs on a loop device, never its watchdog daemon. chromium: the
# hwcheck --html page is loaded in headless chromium by the check tests.
# groff-base: the man pages are rendered by the tools/mangen test.
# heartbeat, iputils-arping and bc: make compare runs Linux-HA Heartbeat
# 3.0.6 on the rig cable and resource-agents' ethmonitor (which needs arping
# and bc) on the rig link. sg3-utils: make compare's fencing row unpacks
# fence-agents, Python and sg3-utils into the lab's guest, with the host's
# copies of the libraries they link.
PKGS="tgt socat iproute2 iputils-ping libiscsi-bin pci.ids make gcc xz-utils util-linux pacemaker pacemaker-cli-utils corosync resource-agents fence-agents libxml2-utils sbd chromium groff-base heartbeat iputils-arping bc sg3-utils"

if ! command -v go >/dev/null 2>&1; then
	echo "deps: go not found on PATH (want Go 1.26 or later; on this machine it lives in /usr/local/go/bin)" >&2
	exit 1
fi

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ -n "$missing" ]; then
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	echo "deps: installing$missing"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

go mod download
