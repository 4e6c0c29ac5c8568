# bench/lib.sh: shared setup for the benchmark scripts (sourced, not run).
#
# Everything runs on loopback in one temporary directory that the EXIT trap
# removes: an nginx with its own minimal configuration (pid, logs and temp
# paths in the directory, no root paths) and a throwaway PostgreSQL cluster
# (initdb, Unix socket in the directory).  As root, both servers run as the
# "postgres" OS user, since PostgreSQL refuses to run as root; otherwise they
# run as the caller.  Set BENCH_KEEP=1 to keep the directory and the servers
# running for a look afterwards (the script prints how to connect and stop).

set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
DATA_DIR="$BENCH_DIR/data"
OUT_DIR="$BENCH_DIR/out"
PG_CONFIG=${PG_CONFIG:-pg_config}
PGBIN=$("$PG_CONFIG" --bindir)
PYTHON=${PYTHON:-python3}

if [ "$(id -u)" = 0 ]; then
	RUNAS=postgres
else
	RUNAS=$(id -un)
fi

log() { printf '%s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Run a command as the servers' OS user, from a directory that user can enter.
as_user()
{
	if [ "$(id -u)" = 0 ]; then
		(cd "$WORK" && runuser -u "$RUNAS" -- "$@")
	else
		(cd "$WORK" && "$@")
	fi
}

# A TCP port on 127.0.0.1 that nothing listens on right now.
free_port()
{
	"$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

bench_cleanup()
{
	local rc=$?
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		log "kept: $WORK"
		log "  psql: $PGBIN/psql -h $WORK -p $PGPORT -d postgres (as $RUNAS)"
		log "  stop: kill \$(cat $WORK/nginx/nginx.pid); $PGBIN/pg_ctl -D $WORK/pgdata stop"
		exit $rc
	fi
	if [ -n "${WORK:-}" ] && [ -d "$WORK" ]; then
		if [ -f "$WORK/nginx/nginx.pid" ]; then
			kill "$(cat "$WORK/nginx/nginx.pid")" 2>/dev/null || true
		fi
		if [ -f "$WORK/pgdata/postmaster.pid" ]; then
			as_user "$PGBIN/pg_ctl" -D "$WORK/pgdata" -m immediate -w stop >/dev/null 2>&1 || true
		fi
		rm -rf "$WORK"
	fi
	exit $rc
}

bench_init()
{
	WORK=$(mktemp -d /tmp/spotgo_bench.XXXXXX)
	chmod 755 "$WORK"
	if [ "$(id -u)" = 0 ]; then
		chown "$RUNAS" "$WORK"
	fi
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
}

# nginx-light from Debian when no nginx is installed.
ensure_nginx()
{
	if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
		NGINX=$(command -v nginx || echo /usr/sbin/nginx)
		return
	fi
	[ "$(id -u)" = 0 ] || die "nginx is not installed; run: apt-get install nginx-light"
	log "installing nginx-light"
	apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >&2
	NGINX=$(command -v nginx || echo /usr/sbin/nginx)
}

# The pages, generated once (again when the generator changes) into bench/data.
ensure_data()
{
	local sum
	sum=$(sha256sum "$BENCH_DIR/gen_gss_pages.py" | cut -c1-16)
	if [ "$(cat "$DATA_DIR/.generated" 2>/dev/null || true)" != "$sum" ] ||
		[ ! -f "$DATA_DIR/pages/page100.json" ] || [ ! -f "$DATA_DIR/mem/page100.json" ]; then
		log "generating 100 pages x 1,000 orders into $DATA_DIR"
		rm -rf "$DATA_DIR"
		mkdir -p "$DATA_DIR"
		"$PYTHON" "$BENCH_DIR/gen_gss_pages.py" --out "$DATA_DIR" --pages 100 \
			--page-size 1000 --seed 3 --mem --mem-repeat 10
		echo "$sum" > "$DATA_DIR/.generated"
	fi
	chmod -R a+rX "$DATA_DIR"
	# the servers' user must reach the files through every parent directory
	as_user test -r "$DATA_DIR/pages/page1.json" ||
		die "$RUNAS cannot read $DATA_DIR (check the parent directories' permissions)"
}

# start_nginx SERVER_BLOCKS: nginx on loopback with the given server blocks
# (text, nginx syntax), its pid, logs and temp files under $WORK/nginx.
start_nginx()
{
	local n="$WORK/nginx"
	mkdir -p "$n/logs" "$n/tmp"
	cat > "$n/nginx.conf" <<EOF
daemon on;
worker_processes 1;
pid $n/nginx.pid;
error_log $n/logs/error.log warn;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $n/tmp/body;
    proxy_temp_path $n/tmp/proxy;
    fastcgi_temp_path $n/tmp/fastcgi;
    uwsgi_temp_path $n/tmp/uwsgi;
    scgi_temp_path $n/tmp/scgi;
    types { application/json json; }
    default_type application/json;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 60s;
    keepalive_requests 100000;
$1
}
EOF
	if [ "$(id -u)" = 0 ]; then
		chown -R "$RUNAS" "$n"
	fi
	as_user "$NGINX" -p "$n" -c "$n/nginx.conf" -e "$n/logs/error.log" ||
		{ cat "$n/logs/error.log" >&2; die "nginx did not start"; }
}

# wait_http URL: poll until nginx answers (readiness, not a timing).
wait_http()
{
	local i
	for i in $(seq 1 100); do
		curl -s -o /dev/null "$1" && return 0
		sleep 0.1
	done
	die "no answer from $1"
}

# The throwaway cluster: initdb, Unix socket in $WORK, no TCP listener.
start_cluster()
{
	PGPORT=$(free_port)
	PGHOST=$WORK
	as_user "$PGBIN/initdb" -D "$WORK/pgdata" -A trust -E UTF8 --no-locale \
		--no-sync >"$WORK/initdb.log" 2>&1 ||
		{ cat "$WORK/initdb.log" >&2; die "initdb failed"; }
	cat >> "$WORK/pgdata/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$WORK'
port = $PGPORT
fsync = off
EOF
	as_user "$PGBIN/pg_ctl" -D "$WORK/pgdata" -l "$WORK/postgres.log" -w start >/dev/null ||
		{ cat "$WORK/postgres.log" >&2; die "the cluster did not start"; }
}

# psql as the servers' user against the throwaway cluster.
bpsql()
{
	as_user "$PGBIN/psql" -X -q -h "$PGHOST" -p "$PGPORT" -d postgres -v ON_ERROR_STOP=1 "$@"
}

# The extension installed from this tree: "make install" when spotgo_gss.so is
# missing or older than any source.  Returns 1 (with the reason on stderr)
# when the tree does not build or has no install script yet.
ensure_extension()
{
	local so newer
	so="$("$PG_CONFIG" --pkglibdir)/spotgo_gss.so"
	if [ -f "$so" ]; then
		newer=$(find "$REPO_DIR/src" "$REPO_DIR/Makefile" "$REPO_DIR"/spotgo_gss--*.sql \
			"$REPO_DIR/spotgo_gss.control" -newer "$so" 2>/dev/null | head -1)
	else
		newer=missing
	fi
	if [ -n "$newer" ]; then
		# a clean build for this PG_CONFIG: the tree's objects may be another major's
		log "building and installing the extension for $("$PG_CONFIG" --version) (make clean install)"
		if ! { make -C "$REPO_DIR" clean PG_CONFIG="$PG_CONFIG" >"$WORK/make.log" 2>&1 &&
			make -C "$REPO_DIR" PG_CONFIG="$PG_CONFIG" >>"$WORK/make.log" 2>&1 &&
			make -C "$REPO_DIR" install PG_CONFIG="$PG_CONFIG" >>"$WORK/make.log" 2>&1; }; then
			tail -20 "$WORK/make.log" >&2
			log "the extension does not build: measuring without it"
			return 1
		fi
	fi
	return 0
}

# SQL: VmHWM and VmRSS (kB) of the backend running it, from /proc/self/status.
SQL_PROC_STATUS="SELECT (regexp_match(s, 'VmHWM:\\s+(\\d+)'))[1] || ' ' || (regexp_match(s, 'VmRSS:\\s+(\\d+)'))[1] FROM pg_read_file('/proc/self/status') AS s"
