# ANB Rising Stars Showcase
#   make run   install what is missing and start the whole system locally
#   make test  install what is missing and run every test
SHELL := /bin/bash
.DEFAULT_GOAL := help

TEMPORAL_VERSION    := v1.5.1
VERSITYGW_VERSION   := v1.8.0
STATICCHECK_VERSION := v0.8.2
WORKFLOWCHECK_VERSION := v0.6.0
MAILPIT_VERSION     := v1.33.1

BIN             := $(CURDIR)/.bin
TEMPORAL_BIN    := $(BIN)/temporal-$(TEMPORAL_VERSION)/temporal
VERSITYGW_BIN   := $(BIN)/versitygw-$(VERSITYGW_VERSION)/versitygw
STATICCHECK_BIN := $(BIN)/staticcheck-$(STATICCHECK_VERSION)/staticcheck
WORKFLOWCHECK_BIN := $(BIN)/workflowcheck-$(WORKFLOWCHECK_VERSION)/workflowcheck
MAILPIT_BIN     := $(BIN)/mailpit-$(MAILPIT_VERSION)/mailpit

export ANB_TEMPORAL_BIN  := $(TEMPORAL_BIN)
export ANB_VERSITYGW_BIN := $(VERSITYGW_BIN)
export ANB_MAILPIT_BIN   := $(MAILPIT_BIN)

# Every test run has the race detector on.
GO_TEST_FLAGS ?= -race -count=1 -timeout 40m

.PHONY: help run test test-unit test-faults tools deps build lint clean-data record-history newman
.PHONY: run-cluster test-cluster

help:
	@echo "make run    start PostgreSQL, Temporal (+UI), Kafka broker, S3, api, bridge and worker"
	@echo "make test   lint, then every unit, integration and end-to-end test"
	@echo "make test-unit    unit tests only: no servers, well under a minute"
	@echo "make test-faults  kill and restart each part of the system under load"
	@echo "make run-cluster  like run, with HAProxy in front of 3 APIs, 2 bridges and 2 workers"
	@echo "make test-cluster the cluster under load while an API and a worker are killed"
	@echo "make bench  the capacity plan: web tier and workers under load, into docs/capacity.md"
	@echo "make tools  install system packages and build the pinned tools into .bin/"

deps:
	@scripts/install-deps.sh
	@# newman runs the Postman collection in the api tests (pinned in package-lock.json).
	@[ -x node_modules/.bin/newman ] || npm ci --no-audit --no-fund

# Each tool is built once per version into its own folder.
$(TEMPORAL_BIN):
	@echo "building temporal CLI $(TEMPORAL_VERSION) (first time only, several minutes)"
	GOBIN=$(dir $@) go install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_VERSION)

$(VERSITYGW_BIN):
	@echo "building versitygw $(VERSITYGW_VERSION) (first time only)"
	GOBIN=$(dir $@) go install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION)

# The dev and test mail server: SMTP plus a REST API to read what was sent.
$(MAILPIT_BIN):
	@echo "building mailpit $(MAILPIT_VERSION) (first time only, several minutes)"
	GOBIN=$(dir $@) go install github.com/axllent/mailpit@$(MAILPIT_VERSION)

$(STATICCHECK_BIN):
	GOBIN=$(dir $@) go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

# Temporal's determinism linter for workflow code.
$(WORKFLOWCHECK_BIN):
	GOBIN=$(dir $@) go install go.temporal.io/sdk/contrib/tools/workflowcheck@$(WORKFLOWCHECK_VERSION)

tools: deps $(TEMPORAL_BIN) $(VERSITYGW_BIN) $(MAILPIT_BIN)

build:
	go build -o $(BIN)/anb ./cmd/anb
	go build -o $(BIN)/anb-broker ./cmd/anb-broker

run: tools build
	$(BIN)/anb dev

# The same servers with HAProxy on 127.0.0.1:8080 in front of three APIs
# (8081-8083), two bridges in one consumer group and two workers.
run-cluster: tools build
	ANB_DEV_CLUSTER=true $(BIN)/anb dev

lint: $(STATICCHECK_BIN) $(WORKFLOWCHECK_BIN)
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	go vet ./...
	$(STATICCHECK_BIN) ./...
	$(WORKFLOWCHECK_BIN) ./workflows/...

test: tools lint deploy-test
	go test $(GO_TEST_FLAGS) $$(go list ./... | grep -v /faults)

# Unit tests: -short skips every test that needs PostgreSQL, Temporal, S3,
# the broker or minutes of ffmpeg, so no server starts.
test-unit:
	go test -race -short -count=1 ./...

# Fault injection on the whole system as real processes (several minutes).
test-faults: tools
	go test $(GO_TEST_FLAGS) -v ./faults/

# Many instances behind HAProxy as real processes, with kills (minutes).
test-cluster: tools
	ANB_CLUSTER_TEST=1 go test -race -count=1 -timeout 8m -v ./cluster/

# As root in a private folder the cluster lives under the postgres user's
# home and .data/postgres links to it: forget both.
clean-data:
	@if [ -L .data/postgres ]; then rm -rf "$$(readlink .data/postgres)"; fi
	rm -rf .data

# The Postman collection against a running API (make run), e.g. a deployment:
#   make newman BASE_URL=http://host:8080
BASE_URL ?= http://localhost:8080
newman: deps
	node_modules/.bin/newman run collections/anb.postman_collection.json -e collections/postman_environment.json \
	  --env-var base_url=$(BASE_URL) --working-dir collections

# Records a completed VideoProcessing history for the replay test. Run it
# when the workflow changes on purpose (behind workflow.GetVersion), with
# HISTORY_VERSION set to the new version; older files stay and keep replaying.
HISTORY_VERSION ?= 1
record-history: tools
	ANB_RECORD_HISTORY=$(CURDIR)/workflows/testdata/video_processing_v$(HISTORY_VERSION)_completed.json \
	  go test -count=1 -run TestEndToEnd ./cmd/anb

# Worker throughput on generated inputs against real PostgreSQL and S3,
# beside decoding alone and the bare one-pass ffmpeg command: CPU split
# into decode, filters and encode, SSIM against a veryslow render, bitrates.
# Then the whole pipeline as processes (api, bridge, worker and the
# servers), upload answered to processed, against the bare command.
# ANB_BENCH_INPUTS (a regexp) picks inputs. Not part of `make test`: it
# takes tens of minutes on two cores.
.PHONY: bench-worker
bench-worker: deps $(VERSITYGW_BIN) $(TEMPORAL_BIN)
	go test -count=1 -run '^$$' -bench '^Benchmark(Worker(Input)?|Pipeline)$$' -benchtime 1x -timeout 90m ./activities/

# The API beside a bare Gin handler in the same run, on real PostgreSQL
# and S3: requests/s, p50/p95/p99 and the ratios to the targets. Not part
# of `make test`: about two minutes (ANB_BENCH_SECONDS per measurement).
.PHONY: bench-api
bench-api: $(VERSITYGW_BIN)
	@scripts/install-deps.sh wrk
	go test -count=1 -run '^$$' -bench '^BenchmarkAPI$$' -benchtime 1x -timeout 30m ./bench/

# The capacity plan: the whole system as processes on loopback, a burst of
# phone-sized uploads through one and then two workers, then a ramp of
# virtual users through the web tier. Writes docs/capacity.md and the plots in
# docs/capacity/. Not part of `make test`: about 15 to 25 minutes.
.PHONY: bench
bench: tools
	ANB_CAPACITY=1 go test -count=1 -run '^TestCapacity$$' -timeout 40m -v ./capacity/

# Infrastructure as code (deploy/aws, AWS CDK in TypeScript, its own
# lockfile): assertions on the synthesized templates (cdk-nag's AwsSolutions
# pack among them), then cfn-lint on the templates themselves, offline,
# with no AWS account.
DEPLOY_AWS := deploy/aws
.PHONY: deploy-deps deploy-test deploy-synth release
# Reinstalls when the lockfile is newer than the installed tree.
deploy-deps:
	@[ $(DEPLOY_AWS)/node_modules/.package-lock.json -nt $(DEPLOY_AWS)/package-lock.json ] || (cd $(DEPLOY_AWS) && npm ci --no-audit --no-fund)

deploy-test: deploy-deps
	@command -v cfn-lint >/dev/null || { echo "deploy-test: cfn-lint not found on PATH (pip install cfn-lint==1.51.0)" >&2; exit 1; }
	cd $(DEPLOY_AWS) && npm test
	cd $(DEPLOY_AWS) && rm -rf cdk.out && npm run synth
	cfn-lint $(DEPLOY_AWS)/cdk.out/*.template.json

# Writes the CloudFormation templates to deploy/aws/cdk.out/.
deploy-synth: deploy-deps
	cd $(DEPLOY_AWS) && npm run synth

# The release artifact the instances install: a static linux/amd64 anb in
# dist/anb-<version>-linux-amd64.tar.gz with its .sha256 beside it.
VERSION ?= $(shell git describe --always --dirty)
RELEASE_NAME := anb-$(VERSION)-linux-amd64
release:
	rm -rf dist/$(RELEASE_NAME) && mkdir -p dist/$(RELEASE_NAME)
	GOOS=linux GOARCH=amd64 CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o dist/$(RELEASE_NAME)/anb ./cmd/anb
	tar -C dist/$(RELEASE_NAME) --owner=0 --group=0 -czf dist/$(RELEASE_NAME).tar.gz anb
	cd dist && sha256sum $(RELEASE_NAME).tar.gz > $(RELEASE_NAME).tar.gz.sha256
	@echo "dist/$(RELEASE_NAME).tar.gz sha256 $$(cut -d' ' -f1 dist/$(RELEASE_NAME).tar.gz.sha256)"
