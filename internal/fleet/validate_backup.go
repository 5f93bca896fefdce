package fleet

import (
	"maps"
	"net"
	"slices"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/api/v1alpha1"
)

// backup checks spec.backup: exactly one repository, its S3 fields, where each
// secret comes from, and a cipher passphrase (a repository is encrypted at rest).
func (c *checker) backup(d doc, m *v1alpha1.MirrorSet) {
	b := m.Spec.Backup
	if b == nil {
		return
	}
	r := b.Repository
	switch {
	case r.Path == "" && r.S3 == nil:
		d.bad("spec.backup.repository", "set one of path, s3")
	case r.Path != "" && r.S3 != nil:
		d.bad("spec.backup.repository", "set one of path, s3 (found both)")
	}
	if s3 := r.S3; s3 != nil {
		p := "spec.backup.repository.s3"
		d.required(p+".endpoint", s3.Endpoint)
		d.required(p+".bucket", s3.Bucket)
		d.required(p+".region", s3.Region)
		if s3.Port < 0 || s3.Port > 65535 {
			d.bad(p+".port", "%d is not a TCP port", s3.Port)
		}
		for _, ref := range []struct {
			name string
			ref  *v1alpha1.SecretRef
		}{{"keyFrom", s3.KeyFrom}, {"keySecretFrom", s3.KeySecretFrom}} {
			if ref.ref == nil {
				d.bad(p+"."+ref.name, "required")
			} else {
				c.source(d, p+"."+ref.name, ref.ref)
			}
		}
		if s3.CA != nil {
			c.source(d, p+".ca", s3.CA)
		}
		for _, region := range slices.Sorted(maps.Keys(s3.FromRegions)) {
			addr := s3.FromRegions[region]
			if _, port, err := net.SplitHostPort(addr); err != nil {
				d.bad(p+".fromRegions."+region, "%q is not host:port", addr)
			} else if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
				d.bad(p+".fromRegions."+region, "%q: %q is not a TCP port", addr, port)
			}
		}
	}
	if b.CipherPassFrom == nil {
		d.bad("spec.backup.cipherPassFrom", "required: the repository is encrypted at rest (aes-256-cbc)")
	} else {
		c.source(d, "spec.backup.cipherPassFrom", b.CipherPassFrom)
	}
	if b.Retention != nil && b.Retention.Full < 0 {
		d.bad("spec.backup.retention.full", "%d is negative", b.Retention.Full)
	}
	if b.ArchiveTimeout != nil && b.ArchiveTimeout.Duration < time.Second {
		d.bad("spec.backup.archiveTimeout", "%s is under a second", b.ArchiveTimeout.Duration)
	}
	if b.ArchiveLagBound != nil && b.ArchiveLagBound.Duration <= 0 {
		d.bad("spec.backup.archiveLagBound", "must be positive")
	}
	backupSchedule(d, b.Schedule)
}

// backupSchedule checks spec.backup.schedule: at least one interval, each positive,
// and incremental backups more often than full ones (an incremental interval at least
// as long as the full one would never be due).
func backupSchedule(d doc, s *v1alpha1.BackupSchedule) {
	if s == nil {
		return
	}
	const p = "spec.backup.schedule"
	if s.Full == nil && s.Incremental == nil {
		d.bad(p, "set full, incremental or both")
		return
	}
	ok := true
	for _, f := range []struct {
		name string
		v    *metav1.Duration
	}{{"full", s.Full}, {"incremental", s.Incremental}} {
		if f.v != nil && f.v.Duration <= 0 {
			d.bad(p+"."+f.name, "must be positive")
			ok = false
		}
	}
	if ok && s.Full != nil && s.Incremental != nil && s.Incremental.Duration >= s.Full.Duration {
		d.bad(p+".incremental", "%s is not shorter than full (%s)", s.Incremental.Duration, s.Full.Duration)
	}
}
