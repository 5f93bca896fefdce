//go:build labkubelet

package roles

import (
	"context"

	kubelet "k8s.io/kubernetes/cmd/kubelet/app"
)

// The kubelet role is behind a build tag: its packages (cadvisor, the container
// manager, volume plugins) make hadron-lab about twice as large and its cold build
// several times longer, and only labs with real nodes need it.
func init() {
	runners[Kubelet] = func(args []string) int {
		return runCobra(kubelet.NewKubeletCommand(context.Background()), args)
	}
}
