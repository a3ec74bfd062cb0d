#!/usr/bin/env bash
# The one test command of Herald (`make test` runs it; so does CI).
#
#   scripts/test.sh [all|deps|services|lint|go|fuzz|node|browser]...
#
# all (the default) installs what is missing, starts Redis and NATS, checks
# gofmt, go vet and staticcheck, runs `go test -race ./...`, fuzzes every
# Fuzz target for a few seconds, runs the Node conformance tests and the
# tutorial's browser tests (headless Chromium, through the Go front door and
# nginx on port 9000). Every step runs even after another failed; the exit
# code is non-zero if any failed.
#
# Outside CI a dependency that cannot be installed (Node, Redis, NATS,
# Chromium, nginx) skips the steps that need it with a warning. With CI=true
# it is a failure.
#
# Environment: FUZZTIME (default 10000x) per fuzz target; GO_TEST_TIMEOUT
# (default 30m); GO_TEST_FLAGS, extra flags for go test.

set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

# staticcheck 2026.2.2; the first release line that supports Go 1.26.
STATICCHECK_VERSION=v0.8.2
# A count, not a duration: with a duration Go 1.26's fuzz coordinator can
# fail a target with "context deadline exceeded" at the deadline although
# nothing was found (go.dev/issue/75804, fixed in Go 1.27).
FUZZTIME=${FUZZTIME:-10000x}
GO_TEST_TIMEOUT=${GO_TEST_TIMEOUT:-30m}
GO_TEST_FLAGS=${GO_TEST_FLAGS:-}
CI=${CI:-false}

failed=()
skipped=()
apt_updated=false
have_node=unknown

log() { printf '\n==> %s [%s]\n' "$*" "$(date +%H:%M:%S)"; }
warn() { printf 'test.sh: %s\n' "$*" >&2; }

# run NAME CMD... runs one step and records its outcome.
run() {
	local name=$1
	shift
	log "$name"
	if "$@"; then
		printf -- '--- ok: %s\n' "$name"
	else
		printf -- '--- FAILED: %s\n' "$name"
		failed+=("$name")
	fi
}

# missing NAME WHAT: a dependency is not available; fatal in CI.
missing() {
	if [[ $CI == true ]]; then
		warn "$2 is not available: $1 fails (CI=true)"
		failed+=("$1")
	else
		warn "$2 is not available: skipping $1 (it fails under CI=true)"
		skipped+=("$1")
	fi
}

apt_install() {
	if ! command -v apt-get >/dev/null; then
		warn "no apt-get to install $*"
		return 1
	fi
	local sudo=()
	[[ $(id -u) -eq 0 ]] || sudo=(sudo -n)
	if [[ $apt_updated == false ]]; then
		"${sudo[@]}" apt-get update -qq || return 1
		apt_updated=true
	fi
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@"
}

# port_open PORT succeeds when something accepts TCP on 127.0.0.1:PORT.
port_open() {
	timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# wait_port PORT NAME waits up to 15 s for a service to listen.
wait_port() {
	local i
	for ((i = 0; i < 150; i++)); do
		port_open "$1" && return 0
		sleep 0.1
	done
	warn "$2 does not listen on 127.0.0.1:$1"
	return 1
}

ensure_node() {
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		apt_install nodejs npm || return 1
	fi
	local major
	major=$(node -p 'process.versions.node.split(".")[0]') || return 1
	if ((major < 18)); then
		warn "node $(node --version) is too old: the tests need 18 or newer"
		return 1
	fi
	node --version && npm --version
}

ensure_redis() {
	port_open 6379 && return 0
	if ! command -v redis-server >/dev/null; then
		apt_install redis-server || return 1
	fi
	mkdir -p /var/lib/redis /var/log/redis
	redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
		--appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log || return 1
	wait_port 6379 redis
}

ensure_nats() {
	port_open 4222 && return 0
	if [[ ! -x /usr/sbin/nats-server ]]; then
		apt_install nats-server || return 1
	fi
	mkdir -p /var/lib/nats-server
	start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
		-a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log || return 1
	wait_port 4222 nats-server
}

staticcheck() {
	go run "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION" "$@"
}

step_deps() {
	if ! command -v go >/dev/null; then
		warn "go is not on PATH"
		failed+=("deps: go")
		return
	fi
	go version
	run "deps: go modules" go mod download
	run "deps: staticcheck $STATICCHECK_VERSION" staticcheck -version
	log "deps: node and npm"
	if ensure_node; then
		have_node=true
		run "deps: npm ci (test/node)" npm ci --prefix test/node --no-audit --no-fund
	else
		have_node=false
		missing "node tests" "Node.js 18+ with npm"
	fi
}

step_services() {
	log "services: redis on 127.0.0.1:6379"
	ensure_redis || missing "services: redis" "Redis"
	log "services: nats on 127.0.0.1:4222"
	ensure_nats || missing "services: nats" "NATS"
}

# go_files lists the module's Go files, leaving out vendored npm trees.
go_files() {
	find . -name '*.go' -not -path './.git/*' -not -path '*/node_modules/*' -not -path '*/testdata/*'
}

check_gofmt() {
	local out
	out=$(go_files | xargs -r gofmt -l) || return 1
	if [[ -n $out ]]; then
		echo "gofmt would change:"
		echo "$out"
		return 1
	fi
}

step_lint() {
	run "lint: gofmt" check_gofmt
	run "lint: go vet" go vet ./...
	run "lint: staticcheck" staticcheck ./...
}

step_go() {
	# -count=1: the end-to-end tests build and run ./cmd/herald in a child
	# process, which go test's result cache cannot see.
	# shellcheck disable=SC2086
	run "go test -race" go test -race -count=1 -timeout "$GO_TEST_TIMEOUT" $GO_TEST_FLAGS ./...
}

step_fuzz() {
	local file dir name found=0
	while IFS= read -r file; do
		dir=$(dirname "$file")
		while IFS= read -r name; do
			found=1
			run "fuzz $dir $name ($FUZZTIME)" \
				go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$dir"
		done < <(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$file")
	done < <(grep -rl --include='*_test.go' '^func Fuzz' . | grep -v '/node_modules/' | sort)
	((found)) || echo "no fuzz targets"
}

step_node() {
	if [[ $have_node == unknown ]]; then
		if ensure_node; then
			have_node=true
			run "deps: npm ci (test/node)" npm ci --prefix test/node --no-audit --no-fund
		else
			have_node=false
			missing "node tests" "Node.js 18+ with npm"
		fi
	fi
	[[ $have_node == true ]] || return 0
	run "build bin/herald" go build -o bin/herald ./cmd/herald
	run "node tests" bash -c 'cd test/node && HERALD_BIN="${HERALD_BIN:-../../bin/herald}" node --test'
}

# nginx_bin prints the path of nginx (root's PATH has /usr/sbin, others' may not).
nginx_bin() {
	command -v nginx 2>/dev/null && return 0
	[[ -x /usr/sbin/nginx ]] && echo /usr/sbin/nginx
}

ensure_browser() {
	local need=()
	[[ -x /usr/bin/chromium ]] || need+=(chromium)
	[[ -x /usr/bin/chromedriver ]] || need+=(chromium-driver)
	nginx_bin >/dev/null || need+=(nginx)
	if ((${#need[@]})); then
		apt_install "${need[@]}" || return 1
	fi
	/usr/bin/chromium --version && "$(nginx_bin)" -v
}

# The tutorial in headless Chromium (test/browser): Debian's chromium, never
# a browser that a test tool downloads, and Debian's nginx. playwright-core
# needs Node.js 20.
step_browser() {
	if [[ $have_node == unknown ]]; then
		if ensure_node; then
			have_node=true
		else
			have_node=false
		fi
	fi
	if [[ $have_node != true ]] || (($(node -p 'process.versions.node.split(".")[0]') < 20)); then
		missing "browser tests" "Node.js 20+ with npm"
		return 0
	fi
	log "deps: chromium, chromium-driver and nginx"
	if ! ensure_browser; then
		missing "browser tests" "Chromium or nginx (Debian: chromium chromium-driver nginx)"
		return 0
	fi
	run "build bin/herald" go build -o bin/herald ./cmd/herald
	run "build bin/herald-tutorial" go build -o bin/herald-tutorial ./examples/tutorial
	run "deps: npm ci (examples/tutorial)" npm ci --prefix examples/tutorial --no-audit --no-fund
	run "deps: npm ci (test/browser)" npm ci --prefix test/browser --no-audit --no-fund
	NGINX_BIN=$(nginx_bin) run "browser tests" \
		bash -c 'cd test/browser && node --test --test-concurrency=1'
}

steps=("$@")
((${#steps[@]})) || steps=(all)
for s in "${steps[@]}"; do
	case $s in
	all) step_deps; step_services; step_lint; step_go; step_fuzz; step_node; step_browser ;;
	deps) step_deps ;;
	services) step_services ;;
	lint) step_lint ;;
	go) step_go ;;
	fuzz) step_fuzz ;;
	node) step_node ;;
	browser) step_browser ;;
	*)
		warn "unknown step $s (want all, deps, services, lint, go, fuzz, node or browser)"
		exit 2
		;;
	esac
done

echo
((${#skipped[@]})) && warn "skipped: ${skipped[*]}"
if ((${#failed[@]})); then
	echo "test.sh: FAILED: ${failed[*]}"
	exit 1
fi
echo "test.sh: every step passed"
