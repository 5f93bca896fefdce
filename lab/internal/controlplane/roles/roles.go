// Package roles runs the Kubernetes control-plane components (kube-apiserver,
// kube-controller-manager, kube-scheduler, kwok) as hidden subcommands of hadron-lab, so a
// site's control plane is one binary started several times, one process per role.
package roles

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // the components accept --logging-format=json
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go metrics, as the upstream binaries have
	_ "k8s.io/component-base/metrics/prometheus/version"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
)

// Role names, also the subcommand names.
const (
	APIServer         = "kube-apiserver"
	ControllerManager = "kube-controller-manager"
	Scheduler         = "kube-scheduler"
	Kwok              = "kwok"
	// Kubelet runs a real worker node (lab.yaml realNodes): the same Kubernetes
	// release as the control plane, so the lab has no version skew to explain
	// (kubelet.go).
	Kubelet = "kubelet"
)

// runners build the upstream command only when the role runs: kube-apiserver's
// constructor installs a process-wide signal handler, which may happen once per process.
var runners = map[string]func(args []string) int{
	APIServer:         func(args []string) int { return runCobra(apiserver.NewAPIServerCommand(), args) },
	ControllerManager: func(args []string) int { return runCobra(controllermanager.NewControllerManagerCommand(), args) },
	Scheduler:         func(args []string) int { return runCobra(scheduler.NewSchedulerCommand(), args) },
	Kwok:              runKwok,
}

func runCobra(cmd *cobra.Command, args []string) int {
	cmd.SetArgs(args)
	return cli.Run(cmd)
}

// Run runs role with args in this process and returns its exit code; ok is false when
// role is not a control-plane role. Tests call it from TestMain so that the test binary
// can stand in for hadron-lab.
func Run(role string, args []string) (code int, ok bool) {
	r, ok := runners[role]
	if !ok {
		return 0, false
	}
	return r(args), true
}

// Commands returns one hidden subcommand per role; each exits the process with the
// component's exit code, as the upstream binary would.
func Commands() []*cobra.Command {
	var out []*cobra.Command
	for _, name := range []string{APIServer, ControllerManager, Scheduler, Kwok, Kubelet} {
		if _, ok := runners[name]; !ok {
			continue
		}
		out = append(out, &cobra.Command{
			Use:                name + " [flags]",
			Short:              fmt.Sprintf("Run %s (started by `hadron-lab site`)", name),
			Hidden:             true,
			DisableFlagParsing: true,
			RunE: func(cmd *cobra.Command, args []string) error {
				code, _ := Run(name, args)
				os.Exit(code)
				return nil
			},
		})
	}
	return out
}
