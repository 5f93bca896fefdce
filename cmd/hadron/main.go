// Command hadron is the operator's CLI and, as `hadron serve`, the per-site daemon.
package main

import (
	"os"

	"hadron.dev/hadron/internal/cmd/root"
)

func main() {
	os.Exit(root.Execute())
}
