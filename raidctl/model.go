package raidctl

// Tool names the command-line tool whose output a System was read from.
// Each Tool constant is declared in its parser file; Tools lists them.
type Tool string

// System is what one node's tool reported: its controllers, and the warnings
// raised while reading the output (lines the parser did not recognise where
// that matters, provisional mappings, tool-reported partial failures).
//
// Every optional field is a pointer: nil means the tool did not print it,
// which is unknown, not zero or false. JSON omits nil fields.
type System struct {
	Tool        Tool         `json:"tool"`
	Controllers []Controller `json:"controllers"`
	Warnings    []string     `json:"warnings,omitempty"`
}

// Controller is one RAID controller (or, for Linux md, the kernel's md
// driver as a pseudo-controller).
type Controller struct {
	// ID is the controller number or name as the tool prints it ("0", "1", "md").
	ID         string  `json:"id"`
	Vendor     string  `json:"vendor"`
	Model      *string `json:"model,omitempty"`
	Serial     *string `json:"serial,omitempty"`
	Firmware   *string `json:"firmware,omitempty"`
	PCIAddress *string `json:"pci_address,omitempty"`
	Status     *string `json:"status,omitempty"`

	Battery *Battery `json:"battery,omitempty"`
	Cluster Cluster  `json:"cluster"`

	Arrays         []Array         `json:"arrays,omitempty"`
	LogicalDrives  []LogicalDrive  `json:"logical_drives,omitempty"`
	PhysicalDrives []PhysicalDrive `json:"physical_drives,omitempty"`
}

// Battery is the cache-protection unit (BBU, CacheVault, ZMM). A controller
// whose tool said nothing about one has a nil Battery.
type Battery struct {
	Present *bool   `json:"present,omitempty"`
	Model   *string `json:"model,omitempty"`
	State   *string `json:"state,omitempty"` // as printed
	// Failed is true when the tool reports the unit failed or needing
	// replacement, false when it reports it healthy, nil when unknown.
	Failed *bool `json:"failed,omitempty"`
}

// Cluster holds the controller's shared-storage settings. storcli's "High
// Availability" section and "Cluster Support", MegaCLI's cluster flags,
// arcconf's per-channel initiator IDs and ServeRAID's controller/partner
// names all land here.
type Cluster struct {
	// Name is this controller's cluster name, PartnerName the name it
	// expects its partner to have (ServeRAID).
	Name        *string `json:"name,omitempty"`
	PartnerName *string `json:"partner_name,omitempty"`
	// Supported: the controller can run in a cluster (storcli "Cluster Support").
	Supported *bool `json:"supported,omitempty"`
	// Enabled: cluster mode is permitted/enabled (storcli "Cluster
	// Permitted", MegaCLI ClusterEnable).
	Enabled *bool `json:"enabled,omitempty"`
	// Active: the controller is in an active cluster with its peer
	// (storcli "Cluster Active").
	Active *bool `json:"active,omitempty"`
	// Topology is storcli's "Topology Type" as printed.
	Topology *string `json:"topology,omitempty"`
	// Initiators lists the controller's own SCSI initiator ID per channel.
	Initiators []ChannelInitiator `json:"initiators,omitempty"`
	// Provisional is set when some of these fields came from lines whose
	// format no public capture confirms (ipssend controller/partner names
	// and initiator IDs).
	Provisional bool `json:"provisional,omitempty"`
}

// ChannelInitiator is the controller's initiator ID on one channel.
type ChannelInitiator struct {
	Channel int  `json:"channel"`
	ID      *int `json:"id,omitempty"`
}

// Condition is a normalised health state.
type Condition string

// Conditions. ConditionUnknown is used whenever the tool printed no state or
// one this package does not recognise.
const (
	ConditionOK         Condition = "ok"
	ConditionDegraded   Condition = "degraded"
	ConditionRebuilding Condition = "rebuilding"
	ConditionFailed     Condition = "failed"
	ConditionUnknown    Condition = "unknown"
)

// WritePolicy is a normalised write-cache policy.
type WritePolicy string

// Write policies. WriteNone means the logical drive has no controller write
// cache at all (disabled, or not supported), which is as safe as
// write-through for a shared drive.
const (
	WriteThrough WritePolicy = "write-through"
	WriteBack    WritePolicy = "write-back"
	WriteNone    WritePolicy = "none"
)

// Array is a group of physical drives that logical drives are carved from
// (storcli drive group, arcconf array, ServeRAID array letter).
type Array struct {
	ID        string    `json:"id"`
	State     *string   `json:"state,omitempty"`
	Condition Condition `json:"condition"`
	// Members are "channel,target" or "enclosure:slot" references as printed.
	Members []string `json:"members,omitempty"`
}

// LogicalDrive is a virtual drive / logical device / md array.
type LogicalDrive struct {
	ID        string    `json:"id"`
	Name      *string   `json:"name,omitempty"`
	RAIDLevel *string   `json:"raid_level,omitempty"` // normalised: "0", "1", "5", "10", "1E", "linear" ...
	SizeBytes *int64    `json:"size_bytes,omitempty"`
	SizeText  *string   `json:"size_text,omitempty"` // as printed
	State     *string   `json:"state,omitempty"`     // as printed
	Condition Condition `json:"condition"`
	// Progress is the rebuild/resync percentage when one is running.
	Progress *float64 `json:"progress,omitempty"`

	WriteCache     *WritePolicy `json:"write_cache,omitempty"`
	WriteCacheText *string      `json:"write_cache_text,omitempty"` // as printed

	// Shared is true for a drive both nodes of a pair can reach, false for a
	// node-local one, nil when the tool does not say.
	Shared     *bool   `json:"shared,omitempty"`
	MergeGroup *int    `json:"merge_group,omitempty"`
	Array      *string `json:"array,omitempty"`
	// Members are the physical drives as printed ("1,0", "252:3", "sda1").
	Members []string `json:"members,omitempty"`
	// Role says what the drive is for when it is not plain storage:
	// "CacheCade" for a MegaRAID SSD cache, whose Caches lists the target
	// IDs of the drives it caches.
	Role   *string  `json:"role,omitempty"`
	Caches []string `json:"caches,omitempty"`
	// UUID is the md array UUID or a controller volume identifier.
	UUID *string `json:"uuid,omitempty"`
}

// PhysicalDrive is one disk. Channel/Target are set for parallel SCSI
// addressing, Enclosure/Slot for SAS/SATA backplanes.
type PhysicalDrive struct {
	Channel   *int    `json:"channel,omitempty"`
	Target    *int    `json:"target,omitempty"`
	Enclosure *int    `json:"enclosure,omitempty"`
	Slot      *int    `json:"slot,omitempty"`
	Device    *string `json:"device,omitempty"` // kernel name for md members
	// Location is the address as printed when it is not a number pair
	// (Smart Array port:box:bay, "2I:1:5").
	Location  *string   `json:"location,omitempty"`
	State     *string   `json:"state,omitempty"`
	Condition Condition `json:"condition"`
	SizeBytes *int64    `json:"size_bytes,omitempty"`
	Model     *string   `json:"model,omitempty"`
	Serial    *string   `json:"serial,omitempty"`
	Array     *string   `json:"array,omitempty"`
}

func ptr[T any](v T) *T { return &v }
