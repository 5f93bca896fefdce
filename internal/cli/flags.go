package cli

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"

	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/gslb/dnsserver"
)

// Environment variables that give the shared flags their defaults (besides
// $HADRON_FLEET and $HADRON_PKI, which fleet and coord name).
const (
	EnvRegion         = "HADRON_REGION"
	EnvRequestTimeout = "HADRON_REQUEST_TIMEOUT"
)

// DefaultRequestTimeout is --request-timeout without the flag or its variable.
const DefaultRequestTimeout = 5 * time.Second

// FileFlag adds -f/--file: the fleet file or directory.
func FileFlag(fs *pflag.FlagSet, p *string) {
	fs.StringVarP(p, "file", "f", fleet.DefaultPath(), "fleet file or directory ($"+fleet.EnvFleet+")")
	_ = fs.SetAnnotation("file", cobraFilename, []string{"yaml", "yml"})
}

// cobraFilename is cobra's annotation for a flag that completes file names.
const cobraFilename = "cobra_annotation_bash_completion_filename_extensions"

// PKIFlag adds --pki: a PKI directory (the CA certificate, the API token, and a site's
// or the operator's certificate; see coord.PKI).
func PKIFlag(fs *pflag.FlagSet, p *string) {
	fs.StringVar(p, "pki", coord.DefaultPKIDir(), "PKI directory: the CA certificate (ca.crt), the API token (api-token) and a site's or the operator's certificate, or the CA's directory made by serve --init-pki ($"+coord.EnvPKI+")")
	_ = fs.SetAnnotation("pki", "cobra_annotation_bash_completion_subdirs_in_dir", []string{})
}

// RegionFlag adds --region: the region this command runs in, which picks the
// addresses of daemons and database members as seen from there.
func RegionFlag(fs *pflag.FlagSet, p *string) {
	fs.StringVar(p, "region", os.Getenv(EnvRegion), "region this command runs in, which picks the addresses of daemons and database members as seen from there ($"+EnvRegion+")")
}

// TimeoutFlag adds --timeout: how long the command may take before it gives up; usage
// says what it bounds when that is more than the whole command. Its default is the
// command's own, so it has no environment variable.
func TimeoutFlag(fs *pflag.FlagSet, p *time.Duration, def time.Duration, usage string) {
	if usage == "" {
		usage = "give up after this long"
	}
	fs.DurationVar(p, "timeout", def, usage)
}

// RequestTimeoutFlag adds --request-timeout: how long to wait for each daemon's answer.
func RequestTimeoutFlag(fs *pflag.FlagSet, p *time.Duration) {
	fs.DurationVar(p, "request-timeout", DefaultRequestTimeout, "time to wait for each daemon's answer ($"+EnvRequestTimeout+")")
	fromEnv(fs, "request-timeout", EnvRequestTimeout)
}

// DryRunFlag adds --dry-run: print what would be done, with the state observed now.
func DryRunFlag(fs *pflag.FlagSet, p *bool, what string) {
	usage := "print what would be done with the state observed now, and change nothing"
	if what != "" {
		usage = what
	}
	fs.BoolVar(p, "dry-run", false, usage)
}

// fromEnv sets flag name's default from the environment variable env. A value that
// does not parse is a usage error when the command runs without the flag.
func fromEnv(fs *pflag.FlagSet, name, env string) {
	v := os.Getenv(env)
	f := fs.Lookup(name)
	if v == "" || f == nil {
		return
	}
	if err := f.Value.Set(v); err != nil {
		_ = fs.SetAnnotation(name, envError, []string{fmt.Sprintf("$%s=%q: %v", env, v, err)})
		return
	}
	f.DefValue = f.Value.String()
}

// Alias keeps old working as a hidden, deprecated spelling of the flag name: scripts
// that use it go on working and are told the new spelling.
func Alias(fs *pflag.FlagSet, old, name string) {
	f := fs.Lookup(name)
	if f == nil {
		panic("cli.Alias: no flag --" + name)
	}
	fs.AddFlag(&pflag.Flag{Name: old, Usage: f.Usage, Value: f.Value, DefValue: f.DefValue, NoOptDefVal: f.NoOptDefVal,
		Hidden: true, Deprecated: "use --" + name})
}

// LoadFleet loads the fleet -f names. A path that cannot be read is a usage error (the
// help says where the fleet comes from); a fleet with problems is not, it fails.
func LoadFleet(path string) (*fleet.Fleet, error) {
	f, err := fleet.Load(path)
	if err != nil {
		if _, problems := fleet.AsErrors(err); !problems {
			return nil, &UsageError{Err: err}
		}
	}
	return f, err
}

// DNSServerFlags adds the name server's hardening flags, spelt alike by `hadron serve`
// and `hadron dns serve`: --rrl-rate and --rrl-slip (response-rate limiting, on by
// default with dnsserver.DefaultRateLimit) and --status-txt (the _status TXT records,
// off by default).
func DNSServerFlags(fs *pflag.FlagSet, rrl *dnsserver.RateLimit, statusTXT *bool) {
	fs.IntVar(&rrl.Rate, "rrl-rate", dnsserver.DefaultRateLimit.Rate, "UDP responses per second per client network (/24, /56; 0 disables rate limiting)")
	fs.IntVar(&rrl.Slip, "rrl-slip", dnsserver.DefaultRateLimit.Slip, "every Nth limited response is sent truncated so clients retry over TCP (0: drop all)")
	fs.BoolVar(statusTXT, "status-txt", false, "answer _status.<main name> TXT with each application's strategy, answer and site verdicts (off: it tells anyone which sites are down)")
}
