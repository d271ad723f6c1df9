# ANB Rising Stars Showcase
#   make run   install what is missing and start the whole system locally
#   make test  install what is missing and run every test
SHELL := /bin/bash
.DEFAULT_GOAL := help

TEMPORAL_VERSION    := v1.5.1
VERSITYGW_VERSION   := v1.8.0
STATICCHECK_VERSION := v0.8.2
WORKFLOWCHECK_VERSION := v0.6.0

BIN             := $(CURDIR)/.bin
TEMPORAL_BIN    := $(BIN)/temporal-$(TEMPORAL_VERSION)/temporal
VERSITYGW_BIN   := $(BIN)/versitygw-$(VERSITYGW_VERSION)/versitygw
STATICCHECK_BIN := $(BIN)/staticcheck-$(STATICCHECK_VERSION)/staticcheck
WORKFLOWCHECK_BIN := $(BIN)/workflowcheck-$(WORKFLOWCHECK_VERSION)/workflowcheck

export ANB_TEMPORAL_BIN  := $(TEMPORAL_BIN)
export ANB_VERSITYGW_BIN := $(VERSITYGW_BIN)

GO_TEST_FLAGS ?= -count=1 -timeout 40m

.PHONY: help run test test-unit test-faults tools deps build lint clean-data record-history newman

help:
	@echo "make run    start PostgreSQL, Temporal (+UI), Kafka broker, S3, api, bridge and worker"
	@echo "make test   lint, then every unit, integration and end-to-end test"
	@echo "make test-unit    unit tests only: no servers, well under a minute"
	@echo "make test-faults  kill and restart each part of the system under load"
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

$(STATICCHECK_BIN):
	GOBIN=$(dir $@) go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

# Temporal's determinism linter for workflow code.
$(WORKFLOWCHECK_BIN):
	GOBIN=$(dir $@) go install go.temporal.io/sdk/contrib/tools/workflowcheck@$(WORKFLOWCHECK_VERSION)

tools: deps $(TEMPORAL_BIN) $(VERSITYGW_BIN)

build:
	go build -o $(BIN)/anb ./cmd/anb
	go build -o $(BIN)/anb-broker ./cmd/anb-broker

run: tools build
	$(BIN)/anb dev

lint: $(STATICCHECK_BIN) $(WORKFLOWCHECK_BIN)
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	go vet ./...
	$(STATICCHECK_BIN) ./...
	$(WORKFLOWCHECK_BIN) ./workflows/...

test: tools lint
	go test $(GO_TEST_FLAGS) $$(go list ./... | grep -v /faults)

# Unit tests: -short skips every test that needs PostgreSQL, Temporal, S3,
# the broker or minutes of ffmpeg, so no server starts.
test-unit:
	go test -short -count=1 ./...

# Fault injection on the whole system as real processes (several minutes).
test-faults: tools
	go test $(GO_TEST_FLAGS) -v ./faults/

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
# beside the bare one-pass ffmpeg command and the multi-step approach.
# Not part of `make test`: it takes several minutes.
.PHONY: bench-worker
bench-worker: deps $(VERSITYGW_BIN)
	go test -count=1 -run '^$$' -bench '^BenchmarkWorker$$' -benchtime 1x -timeout 60m ./activities/
