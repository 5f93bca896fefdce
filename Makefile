# hadron — the two commands a user needs are `make demo` and `make test`.
SHELL := /bin/bash
GO    ?= go
BIN   := $(CURDIR)/bin
export PATH := $(BIN):$(PATH)
# `hadron version` says what was built: the nearest tag (or the commit) and the commit.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X hadron.dev/hadron/internal/cmd/root.Version=$(VERSION) -X hadron.dev/hadron/internal/cmd/root.Commit=$(COMMIT)

.PHONY: all deps build hadron kubectl-hadron hadron-demo hadron-lab external-dns helm images crds demo test test-chart test-unit fuzz test-lab lint bench-dns bench-drills bench-pods bench-scale bench-backup screenshots clean

all: build

deps:
	@scripts/install-deps.sh

build: hadron kubectl-hadron hadron-demo hadron-lab

hadron:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/hadron ./cmd/hadron

# kubectl's plugin `kubectl hadron`: the same binary under the name kubectl looks for.
kubectl-hadron: hadron
	ln -sf hadron $(BIN)/kubectl-hadron

hadron-demo:
	$(GO) build -o $(BIN)/hadron-demo ./cmd/hadron-demo

hadron-lab:
	cd lab && $(GO) build -o $(BIN)/hadron-lab ./cmd/hadron-lab
	cd lab && CGO_ENABLED=0 $(GO) build -o $(BIN)/hadron-lab-pause ./cmd/hadron-lab-pause

# external-dns for the lab's `dns: external-dns` (hadron lab up --dns external-dns): the
# upstream release, built from its Go module; it is large (every provider's SDK), so
# only this target builds it.
EXTERNAL_DNS_VERSION ?= v0.19.0
external-dns:
	GOBIN=$(BIN) GOFLAGS=-mod=mod $(GO) install sigs.k8s.io/external-dns@$(EXTERNAL_DNS_VERSION)

# hadron's container image hadron.dev/hadron:$(VERSION) as a docker-archive tarball
# (bin/images/hadron.tar; `ctr images import` or `docker load -i` reads it; the lab
# imports it into its real nodes when it is there): a static hadron (CGO_ENABLED=0,
# -trimpath, no build id) and the CA bundle, user 65532, OCI labels, every time set to
# the commit's (SOURCE_DATE_EPOCH), so the same commit gives the same digest.
# hadron-lab image build writes it (the lab's image code; no registry, no engine).
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
IMAGE_SOURCE ?= https://hadron.dev/hadron
images: hadron-lab
	@mkdir -p $(BIN)/images
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS) -s -w -buildid=" -o $(BIN)/images/hadron ./cmd/hadron
	$(BIN)/hadron-lab image build --binary $(BIN)/images/hadron --version $(VERSION) --commit $(COMMIT) \
	  --source $(IMAGE_SOURCE) --source-date-epoch $(SOURCE_DATE_EPOCH) --out $(BIN)/images/hadron.tar

# The Helm CLI (v4) for the chart's tests (lab/e2e/chart), built from its Go module
# like external-dns.
HELM_VERSION ?= v4.3.2
HELM := $(BIN)/helm
helm: $(HELM)
$(HELM):
	GOBIN=$(BIN) GOFLAGS=-mod=mod $(GO) install helm.sh/helm/v4/cmd/helm@$(HELM_VERSION)

# controller-gen, at the version hack/tools/go.mod pins, for the custom resources.
CONTROLLER_GEN := $(BIN)/controller-gen
$(CONTROLLER_GEN): hack/tools/go.mod hack/tools/go.sum
	cd hack/tools && $(GO) build -o $(CONTROLLER_GEN) sigs.k8s.io/controller-tools/cmd/controller-gen

# The CRDs (config/crd, copied to charts/hadron/crds) and DeepCopy methods, generated
# from api/v1alpha1's markers; commit what it writes (make lint checks that they match).
crds: $(CONTROLLER_GEN)
	CONTROLLER_GEN=$(CONTROLLER_GEN) scripts/crds.sh

demo: deps build
	@scripts/demo.sh

lint: $(CONTROLLER_GEN)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt needed'; exit 1; }
	$(GO) vet ./...
	cd lab && $(GO) vet ./...
	CONTROLLER_GEN=$(CONTROLLER_GEN) scripts/crds.sh --check

test-unit:
	$(GO) test -count=1 -timeout 30m ./...

# Every fuzz target for FUZZTIME each (scripts/fuzz.sh finds them); a crasher fails the
# run and stays in the package's testdata/fuzz as a seed.
FUZZTIME ?= 20s
fuzz:
	@GO=$(GO) FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

test-lab: build
	cd lab && $(GO) test -count=1 -timeout 45m ./...

test: deps build lint test-unit fuzz test-lab

# The Helm chart's tests (lab/e2e/chart: helm lint, helm template, helm install into a
# real kube-apiserver) and the lab with the daemons in pods the chart installs
# (TestDaemonPods: real nodes, hadron's image, a region-loss drill), with bin/helm and
# bin/images/hadron.tar required. Not part of make test: building helm cold takes
# minutes (docs/design/helm-chart.md); test-lab runs them when both are there and
# skips them when they are not.
test-chart: build helm images
	cd lab && HADRON_REQUIRE_TOOLS=1 $(GO) test -count=1 -timeout 15m ./e2e/chart/
	cd lab && HADRON_REQUIRE_TOOLS=1 $(GO) test -count=1 -timeout 30m -run 'TestDaemonPods$$' ./e2e/

# PNGs of the dashboard's main views (docs/screenshots, linked from the README), taken
# by the dashboard's Chromium tests: against three real daemons on 127.0.189.x (the
# views at 1280x800 and on a phone), and against a lab on regions 21-23 (readiness
# and parity, a region lost during a drill).
screenshots: build
	@mkdir -p docs/screenshots
	HADRON_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -timeout 10m -run TestDashboardInChromium ./internal/dashboard/
	cd lab && HADRON_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -timeout 20m -run TestDashboardInChromiumAgainstTheLab ./e2e/
	HADRON_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -timeout 10m -run TestDrillReportWritesPageAndPicture ./internal/cmd/runbook/
	chromium --headless --no-sandbox --hide-scrollbars --window-size=1280,1600 \
	  --screenshot=$(CURDIR)/docs/screenshots/drill-report.png file://$(CURDIR)/docs/screenshots/drill-report.html

bench-drills: deps build
	@bench/drills/run.sh

# Issue 16's cost: the demo lab without containers and make demo's (members and web
# tier in pods) one after the other: lab up, RSS, region-loss drills, ratios
# (bench/pods/run.sh, REPEAT drills each).
bench-pods: deps build
	@bench/pods/run.sh

# Fleets of 1, 10 and 100 light applications (SIZES to choose) on a lab on regions
# 49-51: daemon cost at rest, initial sync of the objects, failover of every
# application when east is lost (bench/scale/run.sh).
bench-scale: deps build
	@bench/scale/run.sh

# Issue 18's backup figures on a real PostgreSQL 15, pgBackRest and the lab's S3 store
# behind a toxiproxy link: archive lag at 1,000 writes/s, backup and restore time per
# GiB (SIZE_MB, default 1024), at 35 ms and at 0 ms in one run (bench/backup/run.sh).
bench-backup: deps
	@bench/backup/run.sh

bench-dns: deps build
	@HADRON_BENCH_DEPS=1 scripts/install-deps.sh
	@bench/dns/run.sh

clean:
	rm -rf $(BIN)
