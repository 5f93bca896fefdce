package topology

import (
	"net"
	"path/filepath"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/api/v1alpha1"
)

// The lab's object store (lab.yaml backups, default on with the demo): an S3 server
// over HTTPS in the witness's region (the region that fails with neither workload
// site), the demo mirror set's backup repository. Each other region reaches it through
// its link to that region, on a proxy of its own, so the store has a link per region
// that can be cut alone: `hadron lab link cut east objectstore` stops east's archiving
// and nothing else; cutting east-witness cuts it too (the same path between regions).
const (
	// ObjectStore is the name the store's links go by ("east-objectstore").
	ObjectStore     = "objectstore"
	hostObjectStore = 60
	PortObjectStore = 9443
	// ObjectStoreBucket holds the repository; ObjectStoreRegion is the S3 region
	// pgBackRest signs for (the store ignores it).
	ObjectStoreBucket = "hadron-lab"
	ObjectStoreRegion = "lab"
)

// The demo's backup policy: a full backup a day and an incremental one every hour,
// the first full one at the leader's first check after `lab up` (pgbackrest.Due: a
// set without backups gets one at once); two full backups kept; a write in the
// archive within archiveTimeout, and a readiness warning when a finished segment has
// waited longer than the bound.
const (
	demoFullEvery        = 24 * time.Hour
	demoIncrementalEvery = time.Hour
	demoRetentionFull    = 2
	demoArchiveTimeout   = 30 * time.Second
	demoArchiveLagBound  = time.Minute
)

// BackupsEnabled says whether the lab runs the object store and gives the demo's
// mirror set spec.backup.
func (c Config) BackupsEnabled() bool {
	return c.DemoEnabled() && (c.Backups == nil || *c.Backups)
}

// witnessSite is the site whose region hosts the lab's shared services (the company
// DNS, the object store): the witness, else the last site.
func (c Config) witnessSite() Site {
	sites := c.Indexed()
	for _, s := range sites {
		if !s.Workload() {
			return s
		}
	}
	return sites[len(sites)-1]
}

// ObjectStoreSite is the site whose region hosts the object store.
func (c Config) ObjectStoreSite() Site { return c.witnessSite() }

// ObjectStoreAddr is where the object store listens, in its region's range.
func (c Config) ObjectStoreAddr() string {
	return hostPort(c.ObjectStoreSite().ip(hostObjectStore), PortObjectStore)
}

// ObjectStoreHosts are the addresses the store is dialled at (its own and every
// region's proxy): its certificate names them all.
func (c Config) ObjectStoreHosts() []string {
	e := c.objectStoreEndpoint()
	out := []string{hostOf(e.Address)}
	for _, from := range c.Indexed() {
		if a, ok := e.FromRegions[from.Region]; ok {
			out = append(out, hostOf(a))
		}
	}
	return out
}

// objectStoreEndpoint is the store's address and how each region reaches it: through
// the region's own link to the store; with members in pods, at the region's pod
// gateway (PodObjectStorePort), which forwards through that same link — pgBackRest
// runs in the member's pod, which cannot reach the link's 127 listener.
func (c Config) objectStoreEndpoint() v1alpha1.Endpoint {
	e := c.endpoint(c.ObjectStoreSite(), c.ObjectStoreAddr())
	if !c.MemberPods {
		return e
	}
	for _, from := range c.Indexed() {
		if c.HasPodGateway(from) {
			if e.FromRegions == nil {
				e.FromRegions = map[string]string{}
			}
			e.FromRegions[from.Region] = hostPort(from.PodGateway(), PodObjectStorePort)
		}
	}
	return e
}

// ObjectStoreFrom is where a host process of site from reaches the store: the store
// itself in its own region, else the listener of from's link to it. Pod gateways
// forward there.
func (c Config) ObjectStoreFrom(from Site) (string, error) {
	s := c.ObjectStoreSite()
	if s.Index == from.Index {
		return c.ObjectStoreAddr(), nil
	}
	return Via(from.Index, s.Index, c.ObjectStoreAddr())
}

func hostOf(addr string) string {
	h, _, _ := net.SplitHostPort(addr)
	return h
}

// backup is the demo mirror set's spec.backup: the lab's store, reached from each
// region through that region's proxy, its CA, and the lab's files for the keys (the
// store checks no signature, but a repository needs them) and the cipher passphrase.
func (c Config) backup(p Paths) *v1alpha1.Backup {
	if !c.BackupsEnabled() || p.ObjectStoreDir == "" {
		return nil
	}
	e := c.objectStoreEndpoint()
	d := func(t time.Duration) *metav1.Duration { return &metav1.Duration{Duration: t} }
	file := func(name string) *v1alpha1.SecretRef {
		return &v1alpha1.SecretRef{File: filepath.Join(p.ObjectStoreDir, name)}
	}
	return &v1alpha1.Backup{
		Repository: v1alpha1.BackupRepository{S3: &v1alpha1.S3Repository{
			Endpoint: hostOf(e.Address), Port: PortObjectStore,
			Bucket: ObjectStoreBucket, Region: ObjectStoreRegion, PathStyle: true,
			FromRegions:   e.FromRegions,
			CA:            &v1alpha1.SecretRef{File: p.CACert},
			KeyFrom:       file(ObjectStoreKeyFile),
			KeySecretFrom: file(ObjectStoreSecretFile),
		}},
		CipherPassFrom:  file(ObjectStoreCipherFile),
		Retention:       &v1alpha1.BackupRetention{Full: demoRetentionFull},
		ArchiveTimeout:  d(demoArchiveTimeout),
		Schedule:        &v1alpha1.BackupSchedule{Full: d(demoFullEvery), Incremental: d(demoIncrementalEvery)},
		ArchiveLagBound: d(demoArchiveLagBound),
		// The lab shows the whole story of a lost region: when the DR member is lost
		// too, the failover restores it from the store. Only mode async may (a restore
		// loses the archive lag, which bounded and synchronous promise never to). The
		// restore builds a member on the daemon's machine, not in a pod: not with
		// memberPods.
		RestoreWhenNoMember: (c.DataLoss == nil || c.DataLoss.Mode == DataLossAsync) && !c.MemberPods,
	}
}

// Files the lab writes (0600) under Paths.ObjectStoreDir for the demo's repository.
const (
	ObjectStoreKeyFile    = "access-key"
	ObjectStoreSecretFile = "secret-key"
	ObjectStoreCipherFile = "cipher-pass"
)

// ObjectStoreSecretFiles are the three files above, for whoever writes or copies them.
var ObjectStoreSecretFiles = []string{ObjectStoreKeyFile, ObjectStoreSecretFile, ObjectStoreCipherFile}
