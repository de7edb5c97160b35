package cli

import "github.com/hakit/hakit/internal/exitcode"

// examples are the EXAMPLES section of each hwagent subcommand's help.
var examples = map[string]string{
	"run":          "  hwagent run --config /etc/hakit/hwagent.yaml\n  hwagent run --config /etc/hakit/hwagent.yaml -v    # debug log\n",
	"check-config": "  hwagent check-config --config /etc/hakit/hwagent.yaml\n  hwagent check-config --parse-only --config node-b.yaml    # written for the other node\n",
	"status":       "  hwagent status\n  hwagent status --config /etc/hakit/hwagent.yaml --json\n",
	"events":       "  hwagent events\n  hwagent events --since 0    # replay the kept events first\n",
	"heartbeat":    "  hwagent heartbeat\n  hwagent heartbeat -v    # every counter of each cable\n  hwagent heartbeat --json\n",
	"cabletest":    "  hwagent cabletest\n  hwagent cabletest --json; echo \"exit $?\"\n",
	"nics":         "  hwagent nics\n",
	"disks":        "  hwagent disks\n  hwagent disks --json\n",
	"raid":         "  hwagent raid\n",
	"register":     "  hwagent register\n",
	"acquire":      "  hwagent register && hwagent acquire\n",
	"release":      "  hwagent release\n",
	"unfence":      "  hwagent unfence\n  hwagent unfence node-c --config /etc/hakit/hwagent.yaml   # through node-c's agent\n",
	"capture":      "  hwagent capture /root/node-a.capture.json --config /etc/hakit/hwagent.yaml\n",
	"compare":      "  hwagent compare node-a.capture.json node-b.capture.json; echo \"exit $?\"\n",
	"fence":        "  hwagent fence node-b\n  hwagent fence node-b --timeout 60s\n",
}

// commandNames are hwagent's subcommands, for "did you mean".
func commandNames() []string {
	return append([]string{"run", "check-config", "capture", "compare", "completion", "raid-tool", "hb", "disk", "nic", "sbd", "help"}, exitcode.ClientCommands()...)
}
