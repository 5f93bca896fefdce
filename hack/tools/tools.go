//go:build tools

// Package tools pins the versions of the generators `make crds` runs.
package tools

import (
	_ "sigs.k8s.io/controller-tools/cmd/controller-gen"
)
