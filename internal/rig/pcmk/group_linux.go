package pcmk

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// CIB snippets of the resources the tests configure: fence_hwagent as the
// stonith device with automatic unfencing, the shared disk (hakit-disk), a
// Dummy that runs with it, and hakit-health cloned on every node.
const (
	FenceDeviceXML = `<primitive id="fence-hw" class="stonith" type="fence_hwagent">
  <instance_attributes id="fence-hw-ia">
    <nvpair id="fence-hw-ia-config" name="config" value="` + HwagentConfig + `"/>
  </instance_attributes>
  <meta_attributes id="fence-hw-ma">
    <nvpair id="fence-hw-ma-provides" name="provides" value="unfencing"/>
  </meta_attributes>
  <operations>
    <op id="fence-hw-monitor" name="monitor" interval="10s"/>
  </operations>
</primitive>`
	DiskXML = `<primitive id="disk" class="ocf" provider="hakit" type="hakit-disk">
  <instance_attributes id="disk-ia">
    <nvpair id="disk-ia-config" name="config" value="` + HwagentConfig + `"/>
  </instance_attributes>
  <operations>
    <op id="disk-monitor" name="monitor" interval="5s"/>
  </operations>
</primitive>`
	DummyXML = `<primitive id="dummy" class="ocf" provider="pacemaker" type="Dummy">
  <operations>
    <op id="dummy-monitor" name="monitor" interval="5s"/>
  </operations>
</primitive>`
	DiskFirstXML = `<rsc_order id="disk-then-dummy" first="disk" then="dummy"/>`
	TogetherXML  = `<rsc_colocation id="dummy-with-disk" rsc="dummy" with-rsc="disk" score="INFINITY"/>`
	HealthXML    = `<clone id="health-clone">
  <primitive id="health" class="ocf" provider="hakit" type="hakit-health">
    <instance_attributes id="health-ia">
      <nvpair id="health-ia-config" name="config" value="` + HwagentConfig + `"/>
      <nvpair id="health-ia-dampen" name="dampen" value="0"/>
    </instance_attributes>
    <operations>
      <op id="health-monitor" name="monitor" interval="2s" timeout="20s"/>
    </operations>
  </primitive>
</clone>`
)

// FenceDevice is FenceDeviceXML for this cluster: a pair's as is; with
// more members, pcmk_host_list names every node (the fencer then needs no
// list action to know which members the device fences, and a device with
// pcmk_host_list must name every node to start).
func (c *Cluster) FenceDevice() string {
	if len(c.nodes) == 2 {
		return FenceDeviceXML
	}
	var names []string
	for _, n := range c.nodes {
		names = append(names, n.Name)
	}
	return strings.Replace(FenceDeviceXML, `</instance_attributes>`, `  <nvpair id="fence-hw-ia-hosts" name="pcmk_host_list" value="`+strings.Join(names, ",")+`"/>
  </instance_attributes>`, 1)
}

// ConfigureGroup turns fencing on and creates the stonith device
// (FenceDevice), the disk, the Dummy that runs with it and the given extra
// resources and constraints (CIB XML: a <primitive> or <clone> goes to
// resources, anything else to constraints), then waits until disk and
// dummy run on one node: it returns that node (the holder) and another
// (the first in order).
func (c *Cluster) ConfigureGroup(ctx context.Context, extra ...string) (holder, other *Node, err error) {
	a := c.nodes[0]
	cmds := [][]string{
		{"crm_attribute", "--type", "crm_config", "--name", "stonith-enabled", "--update", "true"},
		{"cibadmin", "-C", "-o", "resources", "-X", c.FenceDevice()},
		{"cibadmin", "-C", "-o", "resources", "-X", DiskXML},
		{"cibadmin", "-C", "-o", "resources", "-X", DummyXML},
		{"cibadmin", "-C", "-o", "constraints", "-X", DiskFirstXML},
		{"cibadmin", "-C", "-o", "constraints", "-X", TogetherXML},
	}
	for _, x := range extra {
		section := "constraints"
		if strings.HasPrefix(x, "<primitive") || strings.HasPrefix(x, "<clone") {
			section = "resources"
		}
		cmds = append(cmds, []string{"cibadmin", "-C", "-o", section, "-X", x})
	}
	for _, args := range cmds {
		if _, err := a.Run(ctx, args[0], args[1:]...); err != nil {
			return nil, nil, err
		}
	}
	err = a.WaitFor(ctx, 60*time.Second, "disk and dummy started", func(s Status) bool {
		on := s.RunningOn("dummy")
		if on == "" || s.RunningOn("disk") != on {
			return false
		}
		for _, n := range c.nodes {
			if n.Name == on {
				holder, other = n, c.Others(n)[0]
			}
		}
		return holder != nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("%w\npacemaker.log: %s", err, a.Tail("pacemaker.log"))
	}
	return holder, other, nil
}
