# scripts/lib.sh: shell functions shared by scripts/test and scripts/demo.
#
# Sourced, never run.  The caller has already cd'ed to the repository root.
# Every function returns a status instead of exiting, so that the caller
# decides what a failure means (scripts/test counts it, scripts/demo stops).
#
# Variables a caller may set beforehand:
#   PG_CONFIG   pg_config of the PostgreSQL to build against
#               (default /usr/lib/postgresql/15/bin/pg_config)

SG_PG_MAJOR=15
# every major the test command runs against: Debian's 15, and the newer ones
# scripts/pgbuild builds from Debian's source packages
SG_PG_MAJORS=(15 17 18 19)
SG_PACKAGES=(
	"postgresql-$SG_PG_MAJOR"
	"postgresql-server-dev-$SG_PG_MAJOR"
	"postgresql-$SG_PG_MAJOR-cron"
	libcurl4-openssl-dev
	libipc-run-perl
	odbc-postgresql
	unixodbc
	unixodbc-dev
	openssl
	python3
	make
	gcc
)

# Print a section header.
sg_section()
{
	printf '\n==> %s\n' "$*"
}

sg_is_root()
{
	[ "$(id -u)" -eq 0 ]
}

# Run a command as root: directly when we are root, else through sudo.
sg_as_root()
{
	if sg_is_root; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		echo "error: need root (or sudo) to run: $*" >&2
		return 1
	fi
}

# Install the Debian packages the project needs, only those missing;
# "apt-get update" only runs when something is missing.
sg_install_packages()
{
	local p missing=()

	for p in "${SG_PACKAGES[@]}"; do
		if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed'; then
			missing+=("$p")
		fi
	done
	if [ "${#missing[@]}" -eq 0 ]; then
		echo "all required packages are installed"
		return 0
	fi
	echo "installing missing packages: ${missing[*]}"
	sg_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
		sg_as_root env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# Find PostgreSQL: sets PG_CONFIG, PG_BINDIR and puts PG_BINDIR first on PATH.
sg_pg_env()
{
	: "${PG_CONFIG:=/usr/lib/postgresql/$SG_PG_MAJOR/bin/pg_config}"
	if [ ! -x "$PG_CONFIG" ]; then
		echo "error: $PG_CONFIG not found (is postgresql-server-dev-$SG_PG_MAJOR installed?)" >&2
		return 1
	fi
	PG_BINDIR=$("$PG_CONFIG" --bindir) || return 1
	export PG_CONFIG PG_BINDIR
	PATH="$PG_BINDIR:$PATH"
	export PATH
}

# The python3 that the postgres user can run (pyenv shims under /root are
# not readable by it): Debian's when present.
sg_python()
{
	if [ -x /usr/bin/python3 ]; then
		echo /usr/bin/python3
	else
		command -v python3
	fi
}

# "make clean && make && make install" in the repository (the cwd).
# $1: extra compiler flags (PG_CFLAGS).
sg_build()
{
	local cflags=$1

	make clean PG_CONFIG="$PG_CONFIG" >/dev/null &&
		make PG_CONFIG="$PG_CONFIG" PG_CFLAGS="$cflags" &&
		sg_as_root make install PG_CONFIG="$PG_CONFIG"
}

# Copy the source tree $1 to the new directory $2: the files git knows about
# plus untracked, non-ignored ones (without git: everything but build outputs).
sg_copy_tree()
{
	local src=$1 dst=$2 list

	mkdir -p "$dst" || return 1
	list=$(mktemp) || return 1
	if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1 &&
		git -C "$src" ls-files -z --cached --others --exclude-standard >"$list" 2>/dev/null; then
		# drop files deleted from the work tree but still in the index
		(
			cd "$src" || exit 1
			while IFS= read -r -d '' f; do
				[ -e "$f" ] || [ -L "$f" ] && printf '%s\0' "$f"
			done <"$list" | tar -c --null --no-recursion -T - -f -
		) | tar -x -C "$dst" -f -
	else
		tar -c -C "$src" \
			--exclude=.git --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
			--exclude=./results --exclude=./tmp_regress --exclude=./tmp_check \
			--exclude=./log --exclude=./regression.diffs --exclude=./regression.out \
			--exclude=__pycache__ --exclude=./bench/data --exclude=./bench/out \
			-f - . | tar -x -C "$dst" -f -
	fi
	local rc=$?
	rm -f "$list"
	return $rc
}

# The PATH to give commands run as postgres: no directories of root's.
sg_pg_path()
{
	echo "$PG_BINDIR:/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"
}

# Set SG_ARGV to the command "$@" run as the postgres OS user when we are
# root (runuser), else as ourselves.  Variables named in SG_PASS_ENV (and
# PATH, PG_CONFIG) are passed through runuser.
SG_PASS_ENV=()
SG_ARGV=()
sg_pg_argv()
{
	if sg_is_root; then
		local v envs=("PATH=$(sg_pg_path)" "PG_CONFIG=$PG_CONFIG")
		for v in "${SG_PASS_ENV[@]}"; do
			envs+=("$v=${!v-}")
		done
		SG_ARGV=(runuser -u postgres -- env "${envs[@]}" "$@")
	else
		SG_ARGV=("$@")
	fi
}

# Run a command as postgres when we are root (see sg_pg_argv).
sg_as_pg()
{
	sg_pg_argv "$@"
	"${SG_ARGV[@]}"
}

# Make directory $1 (and everything below it) belong to postgres when root.
sg_give_to_pg()
{
	if sg_is_root; then
		chown -R postgres:postgres "$1"
	fi
}

# Print SELECT version() of the PostgreSQL in PG_BINDIR, from a throwaway
# cluster in directory $1 (which postgres must be able to write): proof of
# which server a run tested.
sg_server_version()
{
	local dir=$1 port out
	port=$(sg_free_port) || return 1
	sg_as_pg "$PG_BINDIR/initdb" -D "$dir/data" -A trust -U postgres --no-sync >/dev/null 2>&1 || return 1
	sg_as_pg "$PG_BINDIR/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
		-o "-p $port -k $dir -c listen_addresses=''" start >/dev/null 2>&1 || return 1
	out=$(sg_as_pg "$PG_BINDIR/psql" -X -At -h "$dir" -p "$port" -U postgres -d postgres -c 'SELECT version()' 2>/dev/null)
	sg_as_pg "$PG_BINDIR/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1
	rm -rf "$dir/data"
	[ -n "$out" ] && echo "$out"
}

# The package test: build postgresql-NN-spotgo-gss from the tree $1 the
# Debian way (dpkg-buildpackage, pg_buildext) in the scratch directory $2
# (which postgres must be able to write), install it with apt-get into the
# system, create the extension in a fresh cluster and make one call to the
# sandbox ($SANDBOX_PORT), then remove the package and check its files are
# gone.  The tree's own "make install" is done again afterwards (the package
# replaced, then removed, the same files).  Returns 0 when all of it worked.
sg_package_test()
{
	local tree=$1 dir=$2 deb port out rc=0 lib
	sg_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		postgresql-server-dev-all debhelper dpkg-dev fakeroot >/dev/null || return 1
	mkdir -p "$dir/src" || return 1
	sg_copy_tree "$tree" "$dir/src/spotgo-gss" || return 1
	echo "dpkg-buildpackage -us -uc -b (log: $dir/build.log)"
	(cd "$dir/src/spotgo-gss" && dpkg-buildpackage -us -uc -b >"$dir/build.log" 2>&1) ||
		{ tail -n 30 "$dir/build.log"; return 1; }
	deb=$(ls "$dir"/src/postgresql-"$SG_PG_MAJOR"-spotgo-gss_*.deb 2>/dev/null | grep -v dbgsym | head -n 1)
	[ -n "$deb" ] || { echo "no postgresql-$SG_PG_MAJOR-spotgo-gss package was built"; return 1; }
	echo "built $(basename "$deb")"
	sg_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$deb" >"$dir/install.log" 2>&1 ||
		{ tail -n 20 "$dir/install.log"; return 1; }
	lib=$(dpkg -L "postgresql-$SG_PG_MAJOR-spotgo-gss" | grep '/spotgo_gss\.so$')
	echo "installed: $lib"

	sg_give_to_pg "$dir"
	port=$(sg_free_port) || return 1
	local bin=/usr/lib/postgresql/$SG_PG_MAJOR/bin
	if sg_as_pg "$bin/initdb" -D "$dir/data" -A trust -U postgres --no-sync >/dev/null 2>&1 &&
		sg_as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
			-o "-p $port -k $dir -c listen_addresses=''" start >/dev/null 2>&1; then
		out=$(sg_as_pg "$bin/psql" -X -At -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d postgres <<SQL 2>&1
CREATE EXTENSION spotgo_gss;
CREATE SERVER gss FOREIGN DATA WRAPPER spotgo_gss
  OPTIONS (api 'gss', base_url 'http://127.0.0.1:$SANDBOX_PORT', site_id '1234');
CREATE USER MAPPING FOR CURRENT_USER SERVER gss OPTIONS (access_key 'gss-test-key');
SELECT 'package ' || extversion FROM pg_extension WHERE extname = 'spotgo_gss';
SELECT 'status ' || (spotgo_gss.gss_order_status('NO-SUCH-ORDER') IS NULL);
SQL
		)
		rc=$?
		sg_as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1
		echo "$out"
		[ "$rc" -eq 0 ] && echo "$out" | grep -q '^package 0\.2\.0$' && echo "$out" | grep -q '^status true$' || rc=1
	else
		echo "the package test's cluster did not start:"
		tail -n 20 "$dir/server.log" 2>/dev/null
		rc=1
	fi

	sg_as_root env DEBIAN_FRONTEND=noninteractive apt-get remove -y -q "postgresql-$SG_PG_MAJOR-spotgo-gss" >>"$dir/install.log" 2>&1 || rc=1
	if [ -e "$lib" ]; then
		echo "removing the package left $lib behind"
		rc=1
	else
		echo "removed: $lib is gone"
	fi
	return $rc
}

# Print a TCP port that is free on 127.0.0.1 right now.
sg_free_port()
{
	"$(sg_python)" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# Start a sandbox server.py of source tree $2 as postgres (when root), its
# files $3/$1.port, $3/$1.pid and $3/$1.log (directory $3 must be writable by
# postgres); further arguments go to server.py.  Waits for the port file.
# Sets SG_SPAWN_PORT, SG_SPAWN_PID (the python process), SG_SPAWN_JOB (our
# background job) and SG_SPAWN_LOG; on failure stops what it started.
SG_SPAWN_PORT=
SG_SPAWN_PID=
SG_SPAWN_JOB=
SG_SPAWN_LOG=
sg_spawn_sandbox()
{
	local name=$1 tree=$2 dir=$3 py i portfile pidfile
	shift 3

	SG_SPAWN_PORT=
	SG_SPAWN_PID=
	SG_SPAWN_JOB=
	py=$(sg_python)
	portfile=$dir/$name.port
	pidfile=$dir/$name.pid
	SG_SPAWN_LOG=$dir/$name.log
	rm -f "$portfile" "$pidfile"
	if [ ! -f "$tree/test/sandbox/server.py" ]; then
		echo "error: $tree/test/sandbox/server.py not found" >&2
		return 1
	fi
	# sh writes its own pid, then exec's python in its place: that pid is
	# the server's, whatever wrapper (runuser) sits above it.
	sg_as_pg sh -c 'echo $$ >"$1"; shift; exec "$@"' sh "$pidfile" \
		"$py" "$tree/test/sandbox/server.py" --port 0 --port-file "$portfile" "$@" \
		</dev/null >"$SG_SPAWN_LOG" 2>&1 &
	SG_SPAWN_JOB=$!
	for i in $(seq 1 300); do
		[ -z "$SG_SPAWN_PID" ] && [ -s "$pidfile" ] && SG_SPAWN_PID=$(cat "$pidfile")
		if [ -s "$portfile" ] && grep -qE '^[0-9]+$' "$portfile"; then
			break
		fi
		if ! kill -0 "$SG_SPAWN_JOB" 2>/dev/null; then
			echo "error: the sandbox ($name) exited at start; its log:" >&2
			tail -n 30 "$SG_SPAWN_LOG" >&2
			sg_kill_sandbox "$SG_SPAWN_PID" "$SG_SPAWN_JOB"
			SG_SPAWN_PID=
			SG_SPAWN_JOB=
			return 1
		fi
		sleep 0.1
	done
	[ -z "$SG_SPAWN_PID" ] && [ -s "$pidfile" ] && SG_SPAWN_PID=$(cat "$pidfile")
	if ! [ -s "$portfile" ]; then
		echo "error: the sandbox ($name) wrote no port file in 30 s; its log:" >&2
		tail -n 30 "$SG_SPAWN_LOG" >&2
		sg_kill_sandbox "$SG_SPAWN_PID" "$SG_SPAWN_JOB"
		SG_SPAWN_PID=
		SG_SPAWN_JOB=
		return 1
	fi
	SG_SPAWN_PORT=$(tr -d '[:space:]' <"$portfile")
}

# Stop a sandbox: python process $1 (SIGTERM, then SIGKILL after 10 s) and
# our background job $2.  Either may be empty.  Quiet.
sg_kill_sandbox()
{
	local pid=$1 job=$2 i

	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null
		for i in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	fi
	if [ -n "$job" ]; then
		kill -0 "$job" 2>/dev/null && kill -TERM "$job" 2>/dev/null
		wait "$job" 2>/dev/null
	fi
	return 0
}

# Start the sandbox of source tree $1, its files in directory $2 (which
# postgres must be able to write); further arguments go to server.py.  Sets and exports SANDBOX_PORT and
# SANDBOX_CTL and sets SG_SANDBOX_PID (the python process) and SG_SANDBOX_LOG.
SG_SANDBOX_PID=
SG_SANDBOX_JOB=
sg_start_sandbox()
{
	local tree=$1 dir=$2
	shift 2

	sg_spawn_sandbox sandbox "$tree" "$dir" "$@" || return 1
	SG_SANDBOX_PID=$SG_SPAWN_PID
	SG_SANDBOX_JOB=$SG_SPAWN_JOB
	SG_SANDBOX_LOG=$SG_SPAWN_LOG
	SANDBOX_PORT=$SG_SPAWN_PORT
	SANDBOX_CTL=$tree/test/sandbox/ctl.py
	export SANDBOX_PORT SANDBOX_CTL
	echo "sandbox listening on 127.0.0.1:$SANDBOX_PORT (pid $SG_SANDBOX_PID, log $SG_SANDBOX_LOG)"
}

# Stop the sandbox started by sg_start_sandbox, if any.  Quiet; safe to
# call twice.
sg_stop_sandbox()
{
	sg_kill_sandbox "$SG_SANDBOX_PID" "$SG_SANDBOX_JOB"
	SG_SANDBOX_PID=
	SG_SANDBOX_JOB=
	return 0
}

# Make a throwaway certificate authority and a server certificate it signed,
# for 127.0.0.1 and localhost (subjectAltName IP:127.0.0.1, DNS:localhost),
# valid for 7 days, with the openssl CLI, in the new directory $1 (made
# postgres's when root): ca.pem (the CA certificate, what clients trust),
# server.pem and server.key (for server.py --tls-cert/--tls-key); the CA's
# key is deleted.  Quiet unless openssl fails.
sg_make_test_certs()
{
	local dir=$1 log

	mkdir -p "$dir" || return 1
	log=$dir/openssl.log
	cat >"$dir/openssl.cnf" <<-'EOF'
		# only what scripts/lib.sh sg_make_test_certs needs: no system openssl.cnf
		[req]
		distinguished_name = dn
		prompt = no

		[dn]
		CN = spotgo_gss throwaway test CA

		[v3_ca]
		basicConstraints = critical, CA:TRUE
		keyUsage = critical, keyCertSign, cRLSign
		subjectKeyIdentifier = hash

		[v3_server]
		basicConstraints = critical, CA:FALSE
		keyUsage = critical, digitalSignature, keyEncipherment
		extendedKeyUsage = serverAuth
		subjectAltName = IP:127.0.0.1, DNS:localhost
		subjectKeyIdentifier = hash
		authorityKeyIdentifier = keyid, issuer
	EOF
	if ! {
		openssl req -x509 -config "$dir/openssl.cnf" -extensions v3_ca \
			-newkey rsa:2048 -nodes -sha256 -days 7 \
			-subj "/CN=spotgo_gss throwaway test CA" \
			-keyout "$dir/ca.key" -out "$dir/ca.pem" &&
			openssl req -new -config "$dir/openssl.cnf" \
				-newkey rsa:2048 -nodes -sha256 -subj "/CN=localhost" \
				-keyout "$dir/server.key" -out "$dir/server.csr" &&
			openssl x509 -req -in "$dir/server.csr" -sha256 -days 7 \
				-CA "$dir/ca.pem" -CAkey "$dir/ca.key" -set_serial "0x$(openssl rand -hex 8)" \
				-extfile "$dir/openssl.cnf" -extensions v3_server -out "$dir/server.pem" &&
			openssl verify -CAfile "$dir/ca.pem" "$dir/server.pem"
	} >"$log" 2>&1; then
		echo "error: openssl could not make the test certificates:" >&2
		tail -n 30 "$log" >&2
		return 1
	fi
	rm -f "$dir/ca.key" "$dir/server.csr"
	chmod 644 "$dir/ca.pem" "$dir/server.pem"
	chmod 600 "$dir/server.key"
	sg_give_to_pg "$dir"
}

# Start a second sandbox of source tree $1 that speaks https (TLS 1.2+) with
# the certificates sg_make_test_certs made in directory $3; its files in
# directory $2 (writable by postgres); further arguments go to server.py.
# Sets and exports SANDBOX_TLS_PORT and SANDBOX_CA_FILE (absolute path of
# the CA certificate), sets SG_TLS_SANDBOX_PID and SG_TLS_SANDBOX_LOG.  Its
# control endpoints are reached with: ctl.py --port "$SANDBOX_TLS_PORT"
# --tls-ca "$SANDBOX_CA_FILE" CMD.
SG_TLS_SANDBOX_PID=
SG_TLS_SANDBOX_JOB=
sg_start_tls_sandbox()
{
	local tree=$1 dir=$2 certs
	shift 2
	certs=$(cd "$1" && pwd -P) || return 1
	shift

	sg_spawn_sandbox sandbox-tls "$tree" "$dir" \
		--tls-cert "$certs/server.pem" --tls-key "$certs/server.key" "$@" || return 1
	SG_TLS_SANDBOX_PID=$SG_SPAWN_PID
	SG_TLS_SANDBOX_JOB=$SG_SPAWN_JOB
	SG_TLS_SANDBOX_LOG=$SG_SPAWN_LOG
	SANDBOX_TLS_PORT=$SG_SPAWN_PORT
	SANDBOX_CA_FILE=$certs/ca.pem
	export SANDBOX_TLS_PORT SANDBOX_CA_FILE
	echo "TLS sandbox listening on https://127.0.0.1:$SANDBOX_TLS_PORT (pid $SG_TLS_SANDBOX_PID, log $SG_TLS_SANDBOX_LOG, CA $SANDBOX_CA_FILE)"
}

# Stop the sandbox started by sg_start_tls_sandbox, if any.  Quiet; safe to
# call twice.
sg_stop_tls_sandbox()
{
	sg_kill_sandbox "$SG_TLS_SANDBOX_PID" "$SG_TLS_SANDBOX_JOB"
	SG_TLS_SANDBOX_PID=
	SG_TLS_SANDBOX_JOB=
	return 0
}

# Stop every PostgreSQL server whose data directory lies under $1
# (leftovers of an interrupted or timed-out pg_regress or TAP run): found by
# their postmaster.pid, stopped with pg_ctl, killed by pid if that fails.
sg_stop_clusters()
{
	local top=$1 pidfile datadir pid

	[ -d "$top" ] || return 0
	while IFS= read -r -d '' pidfile; do
		datadir=$(dirname "$pidfile")
		pid=$(head -n 1 "$pidfile" 2>/dev/null)
		case $pid in '' | *[!0-9]*) continue ;; esac
		kill -0 "$pid" 2>/dev/null || continue
		echo "stopping leftover server in $datadir (pid $pid)"
		sg_as_pg "$PG_BINDIR/pg_ctl" -D "$datadir" stop -m immediate -w -t 30 >/dev/null 2>&1 ||
			kill -KILL "$pid" 2>/dev/null
	done < <(find "$top" -name postmaster.pid -type f -print0 2>/dev/null)
	return 0
}
