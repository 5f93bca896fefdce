package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/data/credentials"
	"hadron.dev/hadron/internal/data/pgbackrest"
	"hadron.dev/hadron/internal/fleet"
)

// FromFleet returns the driver of the mirror set named name in f: the regions come
// from f's sites, the password from the set's credentials.passwordFrom (a file relative
// to f.Dir, an environment variable, or a Secret read from one of f's sites within ctx;
// see credentials.Password). region is where the caller runs ("" for each member's own address).
func FromFleet(ctx context.Context, f *fleet.Fleet, name, region string, log *slog.Logger) (*Driver, error) {
	set := f.MirrorSet(name)
	if set == nil {
		var names []string
		for _, s := range f.MirrorSets {
			names = append(names, s.Name)
		}
		return nil, fmt.Errorf("mirror set %q not in the fleet (mirror sets: %v)", name, names)
	}
	drv, err := ForSet(ctx, f, set, region, log)
	if err != nil {
		return nil, fmt.Errorf("mirror set %s: %w", name, err)
	}
	return drv, nil
}

// ForSet is FromFleet for a set already found; its errors do not name the set. The
// daemon builds its drivers with ConfigForSet, the CLI through FromFleet: one way to read a
// set's engine, credentials and regions.
func ForSet(ctx context.Context, f *fleet.Fleet, set *v1alpha1.MirrorSet, region string, log *slog.Logger) (*Driver, error) {
	cfg, err := ConfigForSet(ctx, f, set, region, log)
	if err != nil {
		return nil, err
	}
	return New(cfg)
}

// ConfigForSet is ForSet's configuration, for a caller that adds what the fleet cannot
// give (the daemon's Pods, which needs its connections to the sites).
func ConfigForSet(ctx context.Context, f *fleet.Fleet, set *v1alpha1.MirrorSet, region string, log *slog.Logger) (Config, error) {
	if set.Spec.Engine != "" && set.Spec.Engine != v1alpha1.EnginePostgres {
		return Config{}, fmt.Errorf("engine %q is not supported (postgres is)", set.Spec.Engine)
	}
	if set.Spec.Credentials == nil {
		return Config{}, fmt.Errorf("spec.credentials is required")
	}
	pw, err := credentials.Password(ctx, set.Spec.Credentials.PasswordFrom, f)
	if err != nil {
		return Config{}, err
	}
	regions := map[string]string{}
	for _, s := range f.Sites {
		regions[s.Name] = s.Spec.Region
	}
	tls, err := TLSFromFleet(ctx, f, set)
	if err != nil {
		return Config{}, err
	}
	backup, err := BackupFromFleet(ctx, f, set)
	if err != nil {
		return Config{}, err
	}
	return Config{Set: set, Regions: regions, Password: pw, Region: region, Logger: log, TLS: tls, Loss: f.DataLoss(set.Name), Backup: backup}, nil
}

// BackupFromFleet is the driver's backup configuration for set's spec.backup (nil
// without one), with its secrets read: the cipher passphrase and the S3 keys.
func BackupFromFleet(ctx context.Context, f *fleet.Fleet, set *v1alpha1.MirrorSet) (*BackupConfig, error) {
	spec := set.Spec.Backup
	if spec == nil {
		return nil, nil
	}
	cfg := &BackupConfig{Repo: pgbackrest.Repo{Path: spec.Repository.Path}}
	if spec.ArchiveTimeout != nil {
		cfg.ArchiveTimeout = spec.ArchiveTimeout.Duration
	}
	if spec.Retention != nil {
		cfg.Repo.RetentionFull = spec.Retention.Full
	}
	if cfg.Repo.Path != "" && !filepath.IsAbs(cfg.Repo.Path) {
		cfg.Repo.Path = filepath.Join(f.Dir, cfg.Repo.Path)
	}
	pass, err := credentials.Value(ctx, spec.CipherPassFrom, f, "spec.backup.cipherPassFrom")
	if err != nil {
		return nil, err
	}
	cfg.Repo.CipherPass = string(pass)
	if s3 := spec.Repository.S3; s3 != nil {
		r := &pgbackrest.S3{Endpoint: s3.Endpoint, Port: s3.Port, Bucket: s3.Bucket, Region: s3.Region, Prefix: s3.Prefix, PathStyle: s3.PathStyle, FromRegions: s3.FromRegions}
		const p = "spec.backup.repository.s3"
		key, err := credentials.Value(ctx, s3.KeyFrom, f, p+".keyFrom")
		if err != nil {
			return nil, err
		}
		secret, err := credentials.Value(ctx, s3.KeySecretFrom, f, p+".keySecretFrom")
		if err != nil {
			return nil, err
		}
		r.Key, r.KeySecret = string(key), string(secret)
		if s3.CA != nil {
			if r.CA, err = credentials.Value(ctx, s3.CA, f, p+".ca"); err != nil {
				return nil, err
			}
		}
		cfg.Repo.S3 = r
	}
	return cfg, nil
}

// TLSFromFleet is the driver's TLS for set's spec.tls (nil when it is off; paths are
// relative to f.Dir). It reads the CA now and a member's certificate and key only when
// the driver starts that member: a daemon reads the keys of its own site's members,
// not every site's.
func TLSFromFleet(ctx context.Context, f *fleet.Fleet, set *v1alpha1.MirrorSet) (*TLS, error) {
	spec := set.Spec.TLS
	mode := spec.EffectiveMode()
	if mode == v1alpha1.TLSDisable {
		return nil, nil
	}
	t := &TLS{Mode: mode}
	if spec.CA != nil {
		ca, err := credentials.Value(ctx, spec.CA, f, "spec.tls.ca")
		if err != nil {
			return nil, err
		}
		t.CA = ca
	}
	t.ServerCert = func(ctx context.Context, member string) ([]byte, []byte, error) {
		for i, mc := range spec.Members {
			if mc.Member != member {
				continue
			}
			p := fmt.Sprintf("spec.tls.members[%d]", i)
			cert, err := credentials.Value(ctx, mc.Cert, f, p+".cert")
			if err != nil {
				return nil, nil, err
			}
			key, err := credentials.Value(ctx, mc.Key, f, p+".key")
			if err != nil {
				return nil, nil, err
			}
			return cert, key, nil
		}
		return nil, nil, fmt.Errorf("%w in spec.tls.members", ErrNoServerCert)
	}
	return t, nil
}

// BackupSchedule is the driver's schedule for the fleet's (spec.backup.schedule).
func BackupSchedule(s *v1alpha1.BackupSchedule) pgbackrest.Schedule {
	var out pgbackrest.Schedule
	if s == nil {
		return out
	}
	if s.Full != nil {
		out.Full = s.Full.Duration
	}
	if s.Incremental != nil {
		out.Incremental = s.Incremental.Duration
	}
	return out
}
