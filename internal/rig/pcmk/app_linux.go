package pcmk

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"time"
)

// The acceptance group of the install guide: the shared disk, a floating
// IP on the public network and a data service whose records live on the
// shared LUN, written through the owning node's hwagent (tools/recordsvc),
// started in that order and stopped in reverse. The group prefers a node
// whose heartbeat NIC has carrier (hakit-health's attribute): +1000 there,
// more than the stickiness, so a NIC pull moves it. A preference, not a
// ban: a crossover cable pulled drops the carrier at both ends, a
// symmetric split too, and a ban (any negative score) would then leave
// the group running nowhere, even on the node that won the fence.
const (
	AppPort = 7000
	// AppRegionStart and AppRegionLen are the LUN blocks of the records.
	AppRegionStart = 8192
	AppRegionLen   = 4096
	AppNICRuleXML  = `<rsc_location id="app-prefers-nic" rsc="app">
  <rule id="app-prefers-nic-rule" score="1000">
    <expression id="app-prefers-nic-expr" attribute="hakit-nic-carrier" operation="eq" value="1"/>
  </rule>
</rsc_location>`
)

// AppAddr is the service's address through the floating IP.
var AppAddr = net.JoinHostPort(PublicIP, strconv.Itoa(AppPort))

// BinDir holds the cluster's hwagent (and recordsvc), a path the nodes
// see too.
func (c *Cluster) BinDir() string { return filepath.Join(c.dir, "bin") }

// PID is the node's init, for nsenter -t PID -n -m -u -p.
func (n *Node) PID() int { return n.init }

// RecordsvcPath is the data service's binary (Config.Recordsvc), for the
// client's `recordsvc put|get`.
func (c *Cluster) RecordsvcPath() string { return c.recordsvc }

// AppXML is the group for this cluster.
func (c *Cluster) AppXML() string {
	return `<group id="app">
` + DiskXML + `
  <primitive id="vip" class="ocf" provider="heartbeat" type="IPaddr2">
    <instance_attributes id="vip-ia">
      <nvpair id="vip-ia-ip" name="ip" value="` + PublicIP + `"/>
      <nvpair id="vip-ia-mask" name="cidr_netmask" value="24"/>
      <nvpair id="vip-ia-nic" name="nic" value="eth3"/>
    </instance_attributes>
    <operations>
      <op id="vip-monitor" name="monitor" interval="5s"/>
    </operations>
  </primitive>
  <primitive id="svc" class="ocf" provider="heartbeat" type="anything">
    <instance_attributes id="svc-ia">
      <nvpair id="svc-ia-bin" name="binfile" value="` + c.recordsvc + `"/>
      <nvpair id="svc-ia-opts" name="cmdline_options" value="serve --listen ` + AppAddr + ` --socket ` + HwagentSocket + ` --device ` + c.disk.URL() + fmt.Sprintf(` --region-start %d --region-len %d`, AppRegionStart, AppRegionLen) + `"/>
      <nvpair id="svc-ia-pid" name="pidfile" value="` + ConfigDir + `/recordsvc.pid"/>
      <nvpair id="svc-ia-log" name="logfile" value="` + ConfigDir + `/recordsvc.log"/>
      <nvpair id="svc-ia-errlog" name="errlogfile" value="` + ConfigDir + `/recordsvc.log"/>
    </instance_attributes>
    <operations>
      <op id="svc-monitor" name="monitor" interval="5s"/>
    </operations>
  </primitive>
</group>`
}

// ConfigureApp turns fencing on, sets resource-stickiness 100, creates the
// stonith device, hakit-health
// on both nodes, the group and its NIC rule, and waits until the group
// runs on one node: it returns that node (the holder) and the other.
func (c *Cluster) ConfigureApp(ctx context.Context) (holder, other *Node, err error) {
	if c.recordsvc == "" || c.client == "" {
		return nil, nil, errors.New("pcmk: the acceptance group needs Config.Public and Config.Recordsvc")
	}
	a := c.nodes[0]
	for _, args := range [][]string{
		{"crm_attribute", "--type", "crm_config", "--name", "stonith-enabled", "--update", "true"},
		// A group stays where it runs until something moves it (the
		// install guide's setting): no move back when a node returns.
		{"crm_attribute", "--type", "rsc_defaults", "--name", "resource-stickiness", "--update", "100"},
		{"cibadmin", "-C", "-o", "resources", "-X", FenceDeviceXML},
		{"cibadmin", "-C", "-o", "resources", "-X", HealthXML},
		{"cibadmin", "-C", "-o", "resources", "-X", c.AppXML()},
		{"cibadmin", "-C", "-o", "constraints", "-X", AppNICRuleXML},
	} {
		if _, err := a.Run(ctx, args[0], args[1:]...); err != nil {
			return nil, nil, err
		}
	}
	on := ""
	err = a.WaitFor(ctx, 90*time.Second, "the group started", func(s Status) bool {
		on = s.GroupOn()
		return on != ""
	})
	if err != nil {
		return nil, nil, fmt.Errorf("%w\npacemaker.log: %s", err, GrepAgents(a.Log("pacemaker.log")))
	}
	for i, n := range c.nodes {
		if n.Name == on {
			return n, c.nodes[1-i], nil
		}
	}
	return nil, nil, fmt.Errorf("pcmk: the group runs on %q, not a node of this cluster", on)
}

// GroupOn is the node running the whole acceptance group (disk, vip and
// svc started there), "" when it does not run whole on one node.
func (s Status) GroupOn() string {
	on := s.RunningOn("disk")
	if on == "" || s.RunningOn("vip") != on || s.RunningOn("svc") != on {
		return ""
	}
	return on
}
