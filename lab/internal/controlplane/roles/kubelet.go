package roles

import (
	"context"

	kubelet "k8s.io/kubernetes/cmd/kubelet/app"
)

// The kubelet role runs a real node (lab.yaml realNodes). It is in every hadron-lab:
// beside the control plane, whose packages it mostly shares, it adds about 100
// packages and 14 MB to the binary (docs/design/lab-real-nodes.md, "Cost"). It is kept
// in its own file so that a build without it is one deleted file away.
func init() {
	runners[Kubelet] = func(args []string) int {
		return runCobra(kubelet.NewKubeletCommand(context.Background()), args)
	}
}
