// Command hadron-lab runs a multi-region lab on one machine: per site a real Kubernetes
// control plane with simulated nodes, databases, the demo application and the links
// between regions. `hadron lab ...` calls it.
package main

import (
	"os"

	"hadron.dev/hadron/lab/internal/cmd/labroot"
)

func main() { os.Exit(labroot.Execute()) }
