#!/usr/bin/env bash
# Generates the custom resource definitions (config/crd) and the DeepCopy methods
# (api/v1alpha1/zz_generated.deepcopy.go) from the Go types' markers and copies the
# CRDs into the Helm chart (charts/hadron/crds), or with --check generates them into a
# temporary directory and fails when the committed files — the chart's copies too —
# differ.
#
#   scripts/crds.sh            # make crds
#   scripts/crds.sh --check    # make lint: the committed CRDs are what the types say
#
# CONTROLLER_GEN is the generator, built from hack/tools (its own module, so the root
# go.mod neither downloads nor builds it).
set -euo pipefail
cd "$(dirname "$0")/.."
gen=${CONTROLLER_GEN:-bin/controller-gen}
api=./api/...
chart=charts/hadron/crds

if [[ ${1:-} != --check ]]; then
	"$gen" object paths="$api" crd:crdVersions=v1 output:crd:artifacts:config=config/crd
	# Helm installs what is in a chart's crds/ before the templates (and never
	# upgrades or deletes it): the same files, copied, never edited there.
	rm -f "$chart"/*.yaml
	mkdir -p "$chart"
	cp config/crd/*.yaml "$chart"/
	exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$gen" object paths="$api" output:object:dir="$tmp/object" crd:crdVersions=v1 output:crd:dir="$tmp/crd"
status=0
if ! diff -ru config/crd "$tmp/crd"; then
	status=1
fi
if ! diff -u api/v1alpha1/zz_generated.deepcopy.go "$tmp/object/zz_generated.deepcopy.go"; then
	status=1
fi
if ! diff -ru "$chart" "$tmp/crd"; then
	status=1
fi
if ((status)); then
	echo "config/crd, $chart or zz_generated.deepcopy.go differ from what the types generate: run make crds" >&2
fi
exit $status
