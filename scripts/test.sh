#!/usr/bin/env bash
# The whole test suite, as CI runs it: go vet, then go test against the local,
# in-memory and S3 backends, with a real MinIO server on loopback for S3.
#
#   scripts/test.sh                 everything (./...)
#   scripts/test.sh ./store/... -v  chosen packages and go test flags
#
# MinIO (a pinned Go module) is built once into .tools/bin (git-ignored),
# started on a free loopback port with a fresh data folder, and stopped by PID
# when the tests end, also when they fail or are interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."

MINIO_MODULE=github.com/minio/minio
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
TOOLS="$PWD/.tools"

log() { printf 'test.sh: %s\n' "$*" >&2; }

install_minio() {
	if [[ -x "$TOOLS/bin/minio" && "$(cat "$TOOLS/minio.version" 2>/dev/null)" == "$MINIO_VERSION" ]]; then
		return
	fi
	log "building MinIO $MINIO_VERSION into .tools/bin (once; about 3 minutes on 2 cores)"
	mkdir -p "$TOOLS/bin"
	GOBIN="$TOOLS/bin" GOFLAGS=-buildvcs=false go install "$MINIO_MODULE@$MINIO_VERSION"
	echo "$MINIO_VERSION" >"$TOOLS/minio.version"
}

# free_port prints a loopback TCP port that nothing listens on.
free_port() {
	local p
	for _ in $(seq 1 100); do
		p=$((20000 + RANDOM % 30000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	log "no free loopback port found"
	return 1
}

MINIO_PID=""
MINIO_DIR=""
cleanup() {
	if [[ -n "$MINIO_PID" ]]; then
		kill "$MINIO_PID" 2>/dev/null || true
		wait "$MINIO_PID" 2>/dev/null || true
	fi
	if [[ -n "$MINIO_DIR" ]]; then
		rm -rf "$MINIO_DIR"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_minio() {
	MINIO_DIR=$(mktemp -d "${TMPDIR:-/tmp}/lakesql-minio.XXXXXX")
	local user secret port console
	user="lakesql$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"
	secret="$(od -An -N16 -tx4 /dev/urandom | tr -d ' \n')"
	for attempt in 1 2 3; do
		port=$(free_port)
		console=$(free_port)
		MINIO_ROOT_USER="$user" MINIO_ROOT_PASSWORD="$secret" MINIO_BROWSER=off \
			"$TOOLS/bin/minio" server "$MINIO_DIR/data" \
			--address "127.0.0.1:$port" --console-address "127.0.0.1:$console" --quiet \
			>"$MINIO_DIR/minio.log" 2>&1 &
		MINIO_PID=$!
		for _ in $(seq 1 150); do
			if curl -sf -o /dev/null "http://127.0.0.1:$port/minio/health/ready"; then
				log "MinIO ready on 127.0.0.1:$port (pid $MINIO_PID)"
				export LAKESQL_TEST_S3_ENDPOINT="http://127.0.0.1:$port"
				export AWS_ACCESS_KEY_ID="$user" AWS_SECRET_ACCESS_KEY="$secret" AWS_REGION=us-east-1
				unset AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_PROFILE
				return 0
			fi
			if ! kill -0 "$MINIO_PID" 2>/dev/null; then
				break
			fi
			sleep 0.2
		done
		log "MinIO did not start (attempt $attempt):"
		tail -n 20 "$MINIO_DIR/minio.log" >&2 || true
		kill "$MINIO_PID" 2>/dev/null || true
		wait "$MINIO_PID" 2>/dev/null || true
		MINIO_PID=""
	done
	return 1
}

# The MySQL-compatibility tests drive the real mysql command (Debian's
# mariadb-client); install it when it is missing and we may.
install_mysql_client() {
	if command -v mysql >/dev/null 2>&1; then
		return
	fi
	if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
		log "installing the mysql client (apt-get install mariadb-client)"
		apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-client >/dev/null
	else
		log "the mysql client is missing and cannot be installed here; install mariadb-client (or set LAKESQL_TEST_MYSQL=skip)"
	fi
}

install_minio
install_mysql_client
start_minio

whole=0
if [[ $# -eq 0 ]]; then
	whole=1
	set -- ./...
fi
log "go vet ./..."
go vet ./...
if [[ $whole -eq 1 ]]; then
	# A few seconds of each fuzz target, on top of its committed corpus.
	for target in "FuzzParseEntry ./txn/" "FuzzDecode ./scan/dv/" "FuzzDecodeRecord ./memwal/wal/"; do
		read -r name pkg <<<"$target"
		log "go test -fuzz $name $pkg (5s)"
		go test -run '^$' -fuzz "^$name\$" -fuzztime 5s "$pkg"
	done
fi
log "go test $*"
go test -count=1 -timeout 40m "$@"
