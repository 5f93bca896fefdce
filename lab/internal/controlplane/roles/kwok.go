package roles

import (
	"os"

	"github.com/spf13/pflag"
	"sigs.k8s.io/kwok/pkg/config"
	kwokcmd "sigs.k8s.io/kwok/pkg/kwok/cmd"
	"sigs.k8s.io/kwok/pkg/log"
	"sigs.k8s.io/kwok/pkg/utils/signals"
)

// runKwok runs the kwok controller. kwok reads its configuration (stages, options) into
// the context from --config before building its command; like its own main, it parses
// those global flags from os.Args, so the role must be started as `hadron-lab kwok ...`.
func runKwok(args []string) int {
	global := pflag.NewFlagSet("global", pflag.ContinueOnError)
	global.ParseErrorsAllowlist.UnknownFlags = true
	global.Usage = func() {}

	ctx := signals.SetupSignalContext()
	ctx, logger := log.InitFlags(ctx, global)
	ctx, err := config.InitFlags(ctx, global)
	if err != nil {
		logger.Error("kwok config", "err", err)
		return 1
	}
	cmd := kwokcmd.NewCommand(ctx)
	// The Kubernetes components in this binary declare a global --version flag that is
	// not a bool; cobra's own version flag would clash with it.
	cmd.Version = ""
	cmd.PersistentFlags().AddFlagSet(global)
	cmd.SetArgs(args)
	if err := cmd.ExecuteContext(ctx); err != nil {
		logger.Error("kwok", "err", err)
		return 1
	}
	_ = os.Stderr.Sync()
	return 0
}
