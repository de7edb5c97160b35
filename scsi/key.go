package scsi

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// keyMagic is the top two bytes of every hakit key: ASCII "hk".
const keyMagic = 0x686b

// NodeKey derives the reservation key of node nodeID in cluster clusterID by
// hakit's rule (see OWNERSHIP.md):
//
//	byte 0-1  0x68 0x6b           ASCII "hk": a hakit key
//	byte 2-5  SHA-256(clusterID)[0:4]
//	byte 6-7  nodeID, big endian (1 to 65535)
//
// For example cluster "alpha", node 1 gives 0x686b8ed3f6ad0001. The key is
// never zero, two nodes of one cluster never share a key, a key tells which
// node registered it (KeyNode), and keys of two clusters sharing one
// enclosure differ with probability 1 - 2^-32.
func NodeKey(clusterID string, nodeID int) (Key, error) {
	if clusterID == "" {
		return 0, errors.New("scsi: node key: empty cluster id")
	}
	if nodeID < 1 || nodeID > 0xffff {
		return 0, fmt.Errorf("scsi: node key: node id %d out of range 1 to 65535", nodeID)
	}
	sum := sha256.Sum256([]byte(clusterID))
	return Key(uint64(keyMagic)<<48 | uint64(be32(sum[:4]))<<16 | uint64(nodeID)), nil
}

// KeyNode returns the node id of a key made by NodeKey for clusterID, or
// ok false when k is not such a key.
func KeyNode(k Key, clusterID string) (nodeID int, ok bool) {
	sum := sha256.Sum256([]byte(clusterID))
	if uint64(k)>>48 != keyMagic || uint32(uint64(k)>>16) != be32(sum[:4]) || k&0xffff == 0 {
		return 0, false
	}
	return int(k & 0xffff), true
}

// hwcheckMagic is the top two bytes of hwcheck's test keys: ASCII "hc".
const hwcheckMagic = 0x6863

// HWCheckKey derives the key hwcheck's test sessions of node nodeID
// register with: NodeKey's layout with "hc" in place of "hk". It never
// equals a node key of any cluster (the magic differs), nor a fence_scsi key
// (those leave the top 32 bits zero), and the two nodes of one cluster get
// different keys (the node id), so a test key cannot collide with a key of
// the running pair or with the other node's test key, unlike random keys.
func HWCheckKey(clusterID string, nodeID int) (Key, error) {
	k, err := NodeKey(clusterID, nodeID)
	if err != nil {
		return 0, err
	}
	return Key(uint64(k)&0x0000ffffffffffff | uint64(hwcheckMagic)<<48), nil
}

// IsHWCheckKey reports whether k has the layout of HWCheckKey (any
// cluster).
func IsHWCheckKey(k Key) bool { return uint64(k)>>48 == hwcheckMagic && k&0xffff != 0 }

// IsHakitKey reports whether k has hakit's layout (any cluster).
func IsHakitKey(k Key) bool { return uint64(k)>>48 == keyMagic && k&0xffff != 0 }

// FenceSCSIKey derives the key fence_scsi (ClusterLabs fence-agents) uses by
// default: the first four hex digits of md5(clusterName) followed by the
// node's 1-based position in the corosync node list as four decimal digits,
// the eight characters read as hex with leading zeros stripped. Only 32 of
// the 64 key bits are used. Use it to run beside a fence_scsi cluster.
func FenceSCSIKey(clusterName string, nodeID int) (Key, error) {
	if nodeID < 1 || nodeID > 9999 {
		return 0, fmt.Errorf("scsi: fence_scsi key: node id %d out of range 1 to 9999", nodeID)
	}
	return fenceSCSIKey(clusterName, fmt.Sprintf("%04d", nodeID))
}

// FenceSCSIHashKey derives fence_scsi's "hash" key: four hex digits of
// md5(clusterName) then four hex digits of md5(nodeName).
func FenceSCSIHashKey(clusterName, nodeName string) (Key, error) {
	if nodeName == "" {
		return 0, errors.New("scsi: fence_scsi key: empty node name")
	}
	h := md5.Sum([]byte(nodeName))
	return fenceSCSIKey(clusterName, hex.EncodeToString(h[:])[:4])
}

func fenceSCSIKey(clusterName, node string) (Key, error) {
	if clusterName == "" {
		return 0, errors.New("scsi: fence_scsi key: empty cluster name")
	}
	h := md5.Sum([]byte(clusterName))
	s := strings.TrimLeft(hex.EncodeToString(h[:])[:4]+node, "0")
	v, err := strconv.ParseUint(s, 16, 64)
	if err != nil || v == 0 {
		return 0, fmt.Errorf("scsi: fence_scsi key for cluster %q node %q is zero", clusterName, node)
	}
	return Key(v), nil
}
