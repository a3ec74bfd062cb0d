# Thin wrappers. scripts/test.sh is the one test command and holds the tool
# versions; `make test` is what CI runs (.ci/run).

GO ?= go

.PHONY: run build test test-go test-node lint bench fuzz-smoke

build:
	$(GO) build -o bin/herald ./cmd/herald

test:
	bash scripts/test.sh

test-go:
	bash scripts/test.sh go

test-node:
	bash scripts/test.sh node

lint:
	bash scripts/test.sh lint

# The end-to-end packages under test/ hold no benchmarks; leaving them out
# saves building the server for nothing.
bench:
	$(GO) test -run '^$$' -bench . -benchmem $$($(GO) list ./... | grep -v '/test/')

fuzz-smoke:
	bash scripts/test.sh fuzz

# Start Herald locally: writes config.json with fresh secrets on first use.
run: build
	@test -f config.json || ./bin/herald genconfig -c config.json
	./bin/herald -c config.json

# The tutorial (examples/tutorial): Herald on :8000 with the tutorial's
# config, the app on :3000 and its Go front door on :9000. Installs the
# page's npm packages on first use; Ctrl-C stops all three.
.PHONY: tutorial
tutorial: build
	$(GO) build -o bin/herald-tutorial ./examples/tutorial
	@test -f examples/tutorial/node_modules/centrifuge/dist/centrifuge.js \
		-a -f examples/tutorial/node_modules/centrifuge-legacy/dist/centrifuge.min.js \
		|| npm ci --prefix examples/tutorial --no-audit --no-fund
	./bin/herald-tutorial -dir examples/tutorial -front :9000 \
		-start-herald bin/herald -herald-config examples/tutorial/config.json
