package pcmk

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// CIB snippets of the resources the tests configure: fence_hwagent as the
// stonith device with automatic unfencing, the shared disk (hakit-disk), a
// Dummy that runs with it, and hakit-health cloned on both nodes.
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

// ConfigureGroup turns fencing on and creates the stonith device, the
// disk, the Dummy that runs with it and the given extra resources and
// constraints (CIB XML: a <primitive> or <clone> goes to resources,
// anything else to constraints), then waits until disk and dummy run on
// one node: it returns that node (the holder) and the other.
func (c *Cluster) ConfigureGroup(ctx context.Context, extra ...string) (holder, other *Node, err error) {
	a := c.nodes[0]
	cmds := [][]string{
		{"crm_attribute", "--type", "crm_config", "--name", "stonith-enabled", "--update", "true"},
		{"cibadmin", "-C", "-o", "resources", "-X", FenceDeviceXML},
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
		for i, n := range c.nodes {
			if n.Name == on {
				holder, other = n, c.nodes[1-i]
			}
		}
		return holder != nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("%w\npacemaker.log: %s", err, a.Tail("pacemaker.log"))
	}
	return holder, other, nil
}
