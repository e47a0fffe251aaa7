#!/usr/bin/env bash
# The whole test suite, as CI runs it: go vet, then go test against the local,
# in-memory and S3 backends, with a real MinIO server on loopback for S3.
#
#   scripts/test.sh                 everything (./...)
#   scripts/test.sh ./store/... -v  chosen packages and go test flags
#
# MinIO (a pinned Go module) is built once into .tools/bin (git-ignored). Two
# servers are started, each on a free loopback port with a fresh data folder
# and its own generated root credentials: the main one for the database's
# stores, and a second one standing for an external container of data files
# that the database only reads. Both are stopped by PID when the tests end,
# also when they fail or are interrupted.
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

# The servers started so far, and their data folders: cleanup stops and
# removes them. MINIO_STARTING is a server that is not ready yet.
MINIO_PIDS=()
MINIO_DIRS=()
MINIO_STARTING=""
cleanup() {
	local pid dir
	for pid in $MINIO_STARTING ${MINIO_PIDS[@]+"${MINIO_PIDS[@]}"}; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	for dir in ${MINIO_DIRS[@]+"${MINIO_DIRS[@]}"}; do
		rm -rf "$dir"
	done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# random_hex prints n random bytes (a multiple of 4) in hexadecimal.
random_hex() {
	od -An -N"$1" -tx4 /dev/urandom | tr -d ' \n'
}

# run_minio LABEL USER SECRET starts a MinIO server with a fresh data folder
# on a free loopback port, with USER and SECRET as its root credentials, and
# waits until it is ready. It sets MINIO_ENDPOINT to the server's URL.
run_minio() {
	local label=$1 user=$2 secret=$3 dir port console pid
	dir=$(mktemp -d "${TMPDIR:-/tmp}/lakesql-minio.XXXXXX")
	MINIO_DIRS+=("$dir")
	for attempt in 1 2 3; do
		port=$(free_port)
		console=$(free_port)
		while [[ "$console" == "$port" ]]; do
			console=$(free_port)
		done
		MINIO_ROOT_USER="$user" MINIO_ROOT_PASSWORD="$secret" MINIO_BROWSER=off \
			"$TOOLS/bin/minio" server "$dir/data" \
			--address "127.0.0.1:$port" --console-address "127.0.0.1:$console" --quiet \
			>"$dir/minio.log" 2>&1 &
		pid=$!
		MINIO_STARTING=$pid
		for _ in $(seq 1 150); do
			if curl -sf -o /dev/null "http://127.0.0.1:$port/minio/health/ready"; then
				log "MinIO ($label) ready on 127.0.0.1:$port (pid $pid)"
				MINIO_PIDS+=("$pid")
				MINIO_STARTING=""
				MINIO_ENDPOINT="http://127.0.0.1:$port"
				return 0
			fi
			if ! kill -0 "$pid" 2>/dev/null; then
				break
			fi
			sleep 0.2
		done
		log "MinIO ($label) did not start (attempt $attempt):"
		tail -n 20 "$dir/minio.log" >&2 || true
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		MINIO_STARTING=""
		rm -rf "$dir/data"
	done
	return 1
}

# start_minio starts the test servers: the main one, for the database's
# stores (LAKESQL_TEST_S3_ENDPOINT with the AWS_* credentials), and a second
# one with other credentials, for external containers of data files
# (LAKESQL_TEST_S3_EXT_*).
start_minio() {
	local user secret ext_user ext_secret
	user="lakesql$(random_hex 4)"
	secret="$(random_hex 16)"
	run_minio main "$user" "$secret"
	export LAKESQL_TEST_S3_ENDPOINT="$MINIO_ENDPOINT"
	export AWS_ACCESS_KEY_ID="$user" AWS_SECRET_ACCESS_KEY="$secret" AWS_REGION=us-east-1
	unset AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_PROFILE

	ext_user="lakesqlext$(random_hex 4)"
	ext_secret="$(random_hex 16)"
	run_minio external "$ext_user" "$ext_secret"
	export LAKESQL_TEST_S3_EXT_ENDPOINT="$MINIO_ENDPOINT"
	export LAKESQL_TEST_S3_EXT_ACCESS_KEY_ID="$ext_user" LAKESQL_TEST_S3_EXT_SECRET_ACCESS_KEY="$ext_secret"
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
	# third_party/icuregex (go-icu-regex's replacement) is a module of its
	# own, which ./... leaves out.
	log "go vet and go test in third_party/icuregex"
	(cd third_party/icuregex && go vet ./... && go test -count=1 ./...)
	# About five seconds of each fuzz target, on top of its committed
	# corpus, as a count of executions: with a duration, Go 1.26's fuzz
	# coordinator can fail a target with "context deadline exceeded" at
	# the end of it, having found nothing (golang/go#75804, fixed in 1.27).
	for target in "FuzzParseEntry ./txn/ 15000" "FuzzDecode ./scan/dv/ 150000" "FuzzDecodeRecord ./memwal/wal/ 300000"; do
		read -r name pkg execs <<<"$target"
		log "go test -fuzz $name $pkg ($execs executions)"
		go test -run '^$' -fuzz "^$name\$" -fuzztime "${execs}x" "$pkg"
	done
fi
log "go test $*"
go test -count=1 -timeout 40m "$@"
