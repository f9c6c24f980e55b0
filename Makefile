# codedesk — run `make help` for the targets.
SHELL := /bin/bash
GO ?= go
BIN := bin/codedesk
# Official code sets beside the checkout (read-only); override to import others.
CODESETS_DIR ?= $(if $(wildcard ../shared/data),../shared/data,)
FUZZTIME ?= 30s
BENCHTIME ?=
BENCHCOUNT ?= 5

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show the targets.
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build bin/codedesk.
	$(GO) build -o $(BIN) ./cmd/codedesk

.PHONY: run
run: build ## Start everything locally: dev mail server, poller, workers, web desk (SQLite, auto-send on).
	@mkdir -p var
	CODEDESK_AUTO_SEND=$${CODEDESK_AUTO_SEND:-true} \
	CODEDESK_SMTP_COPY_TO=$${CODEDESK_SMTP_COPY_TO-desk@codedesk.test} \
	CODEDESK_IMAP_SENT_FOLDER=$${CODEDESK_IMAP_SENT_FOLDER-Sent} \
	CODEDESK_CODESETS_DIR=$${CODEDESK_CODESETS_DIR:-$(CODESETS_DIR)} \
	./$(BIN) serve --devmail

.PHONY: test
test: ## Run every test (PostgreSQL ones when CODEDESK_TEST_DATABASE_URL is set; .ci/run sets it).
	$(GO) test -race -shuffle=on -timeout 15m ./...

.PHONY: test-short
test-short: ## Fast tests only (no race detector, no integration servers).
	$(GO) test -short ./...

.PHONY: bench
bench: ## Run the benchmarks (figures go to docs/benchmarks.md).
	@mkdir -p var
	$(GO) test -run '^$$' -bench . -benchmem -count $(BENCHCOUNT) $(if $(BENCHTIME),-benchtime $(BENCHTIME),) -timeout 60m ./... | tee var/bench.txt

.PHONY: chaos
chaos: ## Fault harness (issue #7): 3 PostgreSQL nodes + 1 SQLite node, 1,000 questions, kills and cuts (needs CODEDESK_TEST_DATABASE_URL, dovecot, root; CHAOS_ARGS="--seed 2 …").
	$(GO) run ./cmd/codedesk-chaos $(CHAOS_ARGS)

.PHONY: fuzz
fuzz: ## Run each fuzz target for FUZZTIME (default 30s).
	@set -e; for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
			echo "== $$pkg $$f"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done

.PHONY: eval
eval: ## Answer testdata/eval on the official code sets: per-kind accuracy, code recall@3, invented codes.
	CODEDESK_CODESETS_DIR=$${CODEDESK_CODESETS_DIR:-$(CODESETS_DIR)} $(GO) run ./cmd/codedesk eval --check --log-level warn testdata/eval

.PHONY: lint
lint: ## gofmt, go vet and staticcheck.
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

.PHONY: migrate
migrate: build ## Create or upgrade the schema of CODEDESK_DATABASE_URL (default var/codedesk.db).
	./$(BIN) migrate

.PHONY: clean
clean: ## Remove build output (keeps var/codedesk.db).
	rm -rf bin
