// Package setcmd holds what the commands that act on one mirror set of the fleet from
// this machine share (`hadron data`, `hadron backup`): their flags, the check of the
// names against the fleet before any password is read, and the set's driver.
package setcmd

import (
	"context"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/internal/data/postgres"
	"hadron.dev/hadron/internal/fleet"
)

// Options are the persistent flags of a mirror-set command.
type Options struct {
	FleetPath string
	Region    string
	Verbose   bool
}

// Flags registers --file (-f), --region and --verbose (-v) on pf.
func (o *Options) Flags(pf *pflag.FlagSet) {
	cli.FileFlag(pf, &o.FleetPath)
	cli.RegionFlag(pf, &o.Region)
	pf.BoolVarP(&o.Verbose, "verbose", "v", false, "log what the driver does to stderr")
}

// Logger logs the driver's warnings to stderr, and its steps too with --verbose.
func (o *Options) Logger() *slog.Logger {
	level := slog.LevelWarn
	if o.Verbose {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// Load loads the fleet and checks that it has the mirror set and its members: a name
// it does not have is a usage error, found before any password is read.
func (o *Options) Load(set string, members ...string) (*fleet.Fleet, error) {
	f, err := cli.LoadFleet(o.FleetPath)
	if err != nil {
		return nil, err
	}
	if f.MirrorSet(set) == nil {
		return nil, cli.Usagef("no mirror set %q in %s (it has %s)", set, o.FleetPath, Names(cli.MirrorSetNames(f)))
	}
	for _, m := range members {
		known := cli.MemberNames(f, set)
		found := false
		for _, k := range known {
			found = found || k == m
		}
		if !found {
			return nil, cli.Usagef("no member %q in mirror set %s (it has %s)", m, set, Names(known))
		}
	}
	return f, nil
}

// Open loads the fleet, checks the names and returns the driver of the named set.
func (o *Options) Open(ctx context.Context, set string, members ...string) (*postgres.Driver, error) {
	f, err := o.Load(set, members...)
	if err != nil {
		return nil, err
	}
	return postgres.FromFleet(ctx, f, set, o.Region, o.Logger())
}

// Names lists ns for a message, "none" when empty.
func Names(ns []string) string {
	if len(ns) == 0 {
		return "none"
	}
	return strings.Join(ns, ", ")
}
