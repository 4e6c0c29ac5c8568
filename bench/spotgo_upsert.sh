#!/usr/bin/env bash
# bench/spotgo_upsert.sh: CALLS sequential spotgo_upsert_order() calls in one
# statement against nginx answering a fixed upsert body, next to the same
# number of POSTs sent by one curl command line over one connection.
#
#   bash bench/spotgo_upsert.sh [--runs N] [--calls N] [--cpu one|two|free]
#                               (defaults: 5 runs, 2000 calls, --cpu one)
#
# --cpu: where the processes run.  one (default): nginx's worker, the
# PostgreSQL backend and curl all pinned to CPU 0 (taskset), so that every
# request is two context switches on one core; two: nginx on CPU 1, the
# clients on CPU 0, every request crossing cores; free: no pinning (figures
# then depend on where the scheduler puts the processes run by run).
#
# nginx (one worker, keep-alive, keepalive_requests 100000) answers
# POST /api/v1/orders/upsert with a fixed 200 JSON body shaped like SpotGo's
# (created, updated, linkChanged, a whole order view) on three loopback ports:
# "ka" (the timed port), "log" (same, with an access log naming each
# request's connection: used only for the checks) and "close"
# (keepalive_timeout 0: nginx closes every connection after one answer).
# Lines, interleaved round after round in ONE psql session (one backend)
# after an untimed warm-up round: ours (psql \timing), curl with one option
# block (the baseline), curl with "next" blocks, then ours and curl against
# the "close" port.  curl runs from the same session with \! and is timed
# around its process.  Before timing, the "log" port checks that each line
# sends CALLS requests over one connection, with the same header bytes.
# Median, min and max of N runs go to stdout and bench/out/spotgo_upsert.md.
# See bench/README.md.

RUNS=5
CALLS=2000
CPU_MODE=one
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) RUNS=$2; shift 2 ;;
	--runs=*) RUNS=${1#--runs=}; shift ;;
	--calls) CALLS=$2; shift 2 ;;
	--calls=*) CALLS=${1#--calls=}; shift ;;
	--cpu) CPU_MODE=$2; shift 2 ;;
	--cpu=*) CPU_MODE=${1#--cpu=}; shift ;;
	-h | --help) sed -n '2,29p' "$0"; exit 0 ;;
	*) echo "usage: $0 [--runs N] [--calls N] [--cpu one|two|free]" >&2; exit 2 ;;
	esac
done
case "$RUNS" in '' | *[!0-9]* | 0) echo "--runs needs a positive integer" >&2; exit 2 ;; esac
case "$CALLS" in '' | *[!0-9]* | 0) echo "--calls needs a positive integer" >&2; exit 2 ;; esac
case "$CPU_MODE" in
one) NGINX_CPUS=0; CLIENT_CPUS=0 ;;
two) NGINX_CPUS=1; CLIENT_CPUS=0 ;;
free) NGINX_CPUS=; CLIENT_CPUS= ;;
*) echo "--cpu takes one, two or free" >&2; exit 2 ;;
esac
if [ -n "$CLIENT_CPUS" ]; then
	command -v taskset >/dev/null || { echo "--cpu $CPU_MODE needs taskset (util-linux); or use --cpu free" >&2; exit 2; }
	[ "$CPU_MODE" = one ] || [ "$(nproc)" -ge 2 ] || { echo "--cpu two needs two CPUs" >&2; exit 2; }
fi

. "$(dirname "$0")/lib.sh"

# SpotGo's upsert answer (OrderViewModel inside, ../../shared/api/spotgo.md),
# about 1.3 kB.  No ' $ or \ in it: it goes verbatim into nginx's return.
BODY='{"created":false,"updated":true,"linkChanged":false,"order":{"orderId":"3fa85f64-5717-4562-b3fc-2c963f66afa6","status":"Created","orderNumber":"ORD-1","createdAt":"2026-08-20T09:12:44.512Z","carrier":{"name":"Trans","email":"dispatch@trans.example.pl","vatCode":"PL123"},"requiredDocumentTypes":["cmr"],"internalComments":"Ramp 4, call the dispatcher 30 minutes before arrival.","details":{"weight":1200.5,"licensePlates":["WX12345","WX6789A"]},"locations":[{"sequence":1,"type":"Loading","startDate":"2026-08-24T14:15:22.123Z","endDate":"2026-08-24T16:00:00.000Z","name":"Magazyn Centralny","countryCode":"PL","postalCode":"02-495","city":"Warszawa","street":"Posag 7 Panien 8","position":{"latitude":52.1906,"longitude":20.8691}},{"sequence":2,"type":"Unloading","startDate":"2026-08-26T08:00:00.000Z","endDate":"2026-08-26T12:00:00.000Z","name":"Logistikzentrum Berlin Sued","countryCode":"DE","postalCode":"12529","city":"Schoenefeld","street":"Hans-Grade-Allee 5","position":{"latitude":52.3667,"longitude":13.5033}}],"documents":[{"documentId":"7c9e6679-7425-40de-944b-e07fc1f90ae7","name":"cmr-ORD-1.pdf","documentType":"cmr","comment":null,"status":"Processing"}],"share":{"shareUrl":"https://carrier.spotgo.eu/share/9f8e7d6c5b4a39281706f5e4d3c2b1a0"}}}'
UPSERT_PATH=/api/v1/orders/upsert

# The order sent, one per call: jsonb_build_object as the issue writes it.
ORDER_EXPR="jsonb_build_object('orderNumber', 'ORD-' || i,
    'carrier', jsonb_build_object('name','Trans','vatCode','PL123'),
    'locations', jsonb_build_array(jsonb_build_object('sequence',1,'type','Loading',
        'startDate','2026-08-24T14:15:22Z','countryCode','PL')))"
# Our line, as the issue writes it (the function is VOLATILE, so the LATERAL
# subquery is evaluated for every row; the checks below count the requests).
Q_OURS="SELECT count(*) FROM generate_series(1,$CALLS) i,
  LATERAL (SELECT spotgo_gss.spotgo_upsert_order($ORDER_EXPR)) s;"

bench_init
ensure_nginx

PORT_KA=$(free_port)
PORT_LOG=$(free_port)
while [ "$PORT_LOG" = "$PORT_KA" ]; do PORT_LOG=$(free_port); done
PORT_CLOSE=$(free_port)
while [ "$PORT_CLOSE" = "$PORT_KA" ] || [ "$PORT_CLOSE" = "$PORT_LOG" ]; do PORT_CLOSE=$(free_port); done
ACCESS_LOG="$WORK/nginx/logs/upsert_access.log"

# "return" answers any method (POST included: a static file would be 405)
# and discards the request body, so the connection stays usable.
LOC="location = $UPSERT_PATH { return 200 '$BODY'; }
        location / { return 404; }"
start_nginx "
    log_format upsert '\$connection \$connection_requests \$request_method \$status \$request_length \$http_content_length \$body_bytes_sent';
    server {
        listen 127.0.0.1:$PORT_KA;
        $LOC
    }
    server {
        listen 127.0.0.1:$PORT_LOG;
        access_log $ACCESS_LOG upsert;
        $LOC
    }
    server {
        listen 127.0.0.1:$PORT_CLOSE;
        keepalive_timeout 0;
        $LOC
    }"
wait_http "http://127.0.0.1:$PORT_KA$UPSERT_PATH"
if [ -n "$NGINX_CPUS" ]; then
	for w in $(pgrep -P "$(cat "$WORK/nginx/nginx.pid")"); do
		taskset -pc "$NGINX_CPUS" "$w" >/dev/null || die "could not pin nginx's worker $w"
	done
fi

# every port answers a POST with exactly BODY, as JSON; the close port closes
for p in "$PORT_KA" "$PORT_LOG" "$PORT_CLOSE"; do
	got=$(curl -s -X POST -H 'Content-Type: application/json' -d '{"orderNumber":"X"}' \
		-w '\n%{http_code} %{content_type}' "http://127.0.0.1:$p$UPSERT_PATH")
	[ "$got" = "$BODY
200 application/json" ] || die "nginx on port $p answers a POST with something else: $got"
done
hdr=$(curl -s -o /dev/null -D - -X POST -d '{}' "http://127.0.0.1:$PORT_CLOSE$UPSERT_PATH" | tr -d '\r')
echo "$hdr" | grep -qi '^connection: close' || die "the close port does not close connections"

start_cluster
# backends inherit the postmaster's CPU affinity
if [ -n "$CLIENT_CPUS" ]; then
	taskset -apc "$CLIENT_CPUS" "$(head -1 "$WORK/pgdata/postmaster.pid")" >/dev/null ||
		die "could not pin the postmaster"
fi
CURL_PIN=${CLIENT_CPUS:+taskset -c $CLIENT_CPUS }
if [ -n "$CLIENT_CPUS" ]; then
	got=$(bpsql -At -c "SELECT (regexp_match(pg_read_file('/proc/self/status'), 'Cpus_allowed_list:\s+(\S+)'))[1]")
	[ "$got" = "$CLIENT_CPUS" ] || die "a backend runs on CPUs $got, not $CLIENT_CPUS"
fi
case "$CPU_MODE" in
one) CPU_TEXT="nginx worker, backend and curl pinned to CPU 0" ;;
two) CPU_TEXT="nginx worker on CPU 1, backend and curl on CPU 0" ;;
free) CPU_TEXT="no CPU pinning" ;;
esac
OURS=1
ensure_extension || OURS=0
PGVER=$("$PGBIN/postgres" --version)

if [ "$OURS" = 1 ]; then
	if ! bpsql -At >"$WORK/setup.log" 2>&1 <<EOF
CREATE EXTENSION spotgo_gss;
CREATE SERVER spotgo FOREIGN DATA WRAPPER spotgo_gss
  OPTIONS (api 'spotgo', base_url 'http://127.0.0.1:$PORT_KA');
CREATE USER MAPPING FOR CURRENT_USER SERVER spotgo OPTIONS (api_key 'x');
CREATE SERVER spotgo_log FOREIGN DATA WRAPPER spotgo_gss
  OPTIONS (api 'spotgo', base_url 'http://127.0.0.1:$PORT_LOG');
CREATE USER MAPPING FOR CURRENT_USER SERVER spotgo_log OPTIONS (api_key 'x');
CREATE SERVER spotgo_close FOREIGN DATA WRAPPER spotgo_gss
  OPTIONS (api 'spotgo', base_url 'http://127.0.0.1:$PORT_CLOSE');
CREATE USER MAPPING FOR CURRENT_USER SERVER spotgo_close OPTIONS (api_key 'x');
SELECT spotgo_gss.spotgo_upsert_order($ORDER_EXPR) = '$BODY'::jsonb FROM generate_series(1,1) i;
EOF
	then
		cat "$WORK/setup.log" >&2
		log "spotgo_gss is installed but spotgo_upsert_order() does not work: measuring curl only"
		OURS=0
	elif [ "$(tail -1 "$WORK/setup.log")" != t ]; then
		cat "$WORK/setup.log" >&2
		log "spotgo_upsert_order() does not return nginx's body: measuring curl only"
		OURS=0
	fi
fi

# ---- the curl command lines: one process, CALLS POSTs, one connection ----
# Both send ours' request byte for byte (checked below): the same headers,
# user agent included (--compressed sends the Accept-Encoding that libcurl
# sends for us; "Expect:" as ours), and jsonb's text output as the body,
# which is what the extension sends.
#   curl       one option block: CALLS url/output pairs sharing the headers
#              and ONE body, that of order ORD-<CALLS/2> (the mean size of
#              ours' bodies, within a byte): curl's fastest form of the job,
#              the baseline of the target.
#   curl_next  CALLS blocks joined by "next", each with its own body (the
#              very bodies ours sends): curl sets every transfer up anew.
as_user "$PGBIN/psql" -X -q -At -h "$WORK" -p "$PGPORT" -d postgres -v ON_ERROR_STOP=1 \
	-c "SELECT ($ORDER_EXPR)::text FROM generate_series(1,$CALLS) i ORDER BY i" \
	> "$WORK/bodies.txt"
[ "$(wc -l < "$WORK/bodies.txt")" = "$CALLS" ] || die "could not generate the request bodies"
CURL_OPTS='silent
user-agent = "spotgo_gss/0.1.0"
compressed
header = "X-Api-Key: x"
header = "Accept: application/json; x-api-version=1.0"
header = "x-api-version: 1.0"
header = "Content-Type: application/json; x-api-version=1.0"
header = "Expect:"'
# make_curl_config URL FILE: the one-block form
make_curl_config()
{
	awk -v url="$1" -v opts="$CURL_OPTS" -v pick=$(((CALLS + 1) / 2)) -v total="$CALLS" '
		NR == pick { gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); body = $0 }
		END {
			print opts
			printf "data-binary = \"%s\"\n", body
			for (i = 0; i < total; i++)
				printf "url = \"%s\"\noutput = \"/dev/null\"\n", url
		}' "$WORK/bodies.txt" > "$2"
}
# make_curl_next_config URL FILE: the "next" form, one block per body
make_curl_next_config()
{
	awk -v url="$1" -v opts="$CURL_OPTS" -v total="$CALLS" '{
		gsub(/\\/, "\\\\"); gsub(/"/, "\\\"")
		printf "url = \"%s\"\noutput = \"/dev/null\"\n%s\n", url, opts
		printf "data-binary = \"%s\"\n", $0
		if (NR < total) print "next"
	}' "$WORK/bodies.txt" > "$2"
}
make_curl_config "http://127.0.0.1:$PORT_KA$UPSERT_PATH" "$WORK/curl_ka.cfg"
make_curl_config "http://127.0.0.1:$PORT_LOG$UPSERT_PATH" "$WORK/curl_log.cfg"
make_curl_config "http://127.0.0.1:$PORT_CLOSE$UPSERT_PATH" "$WORK/curl_close.cfg"
make_curl_next_config "http://127.0.0.1:$PORT_KA$UPSERT_PATH" "$WORK/curl_next_ka.cfg"
make_curl_next_config "http://127.0.0.1:$PORT_LOG$UPSERT_PATH" "$WORK/curl_next_log.cfg"
cat > "$WORK/time_curl.sh" <<EOF
#!/bin/sh
# time_curl.sh LABEL ROUND CONFIG: wall time of one curl process, in ns
t0=\$(date +%s%N)
${CURL_PIN}curl -K "\$3" || echo "curl failed: \$?" >&2
t1=\$(date +%s%N)
[ "\$2" -gt 0 ] && echo "\$1	\$((t1 - t0))" >> "$WORK/curl_times.tsv"
exit 0
EOF
chmod a+rx "$WORK/time_curl.sh"
chmod a+r "$WORK"/*.cfg
: > "$WORK/curl_times.tsv"
if [ "$(id -u)" = 0 ]; then chown "$RUNAS" "$WORK/curl_times.tsv"; fi

# ---- checks on the logging port: requests, connections, bytes ----
# log lines: connection connection_requests method status request_length
# content_length body_bytes_sent (request_length: nginx discards the body of
# a "return", so it counts the request line and headers only)
log_summary()
{
	awk '{ n++; if ($3 == "POST" && $4 == 200) ok++; c[$1] = 1; req += $5; cl += $6; resp += $7 }
	     END { nc = 0; for (k in c) nc++;
	           printf "%d %d %d %.1f %.1f %.0f\n", n, ok, nc, n ? req / n : 0, n ? cl / n : 0, n ? resp / n : 0 }' "$ACCESS_LOG"
}
CHECKS="$WORK/checks.tsv"
: > "$CHECKS"
: > "$ACCESS_LOG"
as_user curl -K "$WORK/curl_log.cfg"
printf 'curl\t%s\n' "$(log_summary)" >> "$CHECKS"
: > "$ACCESS_LOG"
as_user curl -K "$WORK/curl_next_log.cfg"
printf 'curl_next\t%s\n' "$(log_summary)" >> "$CHECKS"
if [ "$OURS" = 1 ]; then
	: > "$ACCESS_LOG"
	# the timed statement, word for word, pointed at the logging port
	bpsql -At -c "SET spotgo_gss.spotgo_server = 'spotgo_log'" -c "$Q_OURS" > "$WORK/check_ours.out"
	[ "$(tail -1 "$WORK/check_ours.out")" = "$CALLS" ] || die "our statement did not return $CALLS"
	printf 'ours\t%s\n' "$(log_summary)" >> "$CHECKS"
fi
while IFS=$'\t' read -r who s; do
	set -- $s
	[ "$1" = "$CALLS" ] && [ "$2" = "$CALLS" ] ||
		die "$who: nginx saw $1 requests ($2 POST answered 200), not $CALLS"
	[ "$3" = 1 ] || log "warning: $who used $3 connections for $CALLS requests"
done < "$CHECKS"
hdr_bytes=$(awk '{ print $5 }' "$CHECKS" | sort -u | wc -l)
[ "$hdr_bytes" = 1 ] || log "warning: the lines do not send the same request headers (see the checks table)"

# ---- timings: one psql session, warm-up round 0, then rounds 1..RUNS ----
{
	echo '\timing on'
	for r in $(seq 0 "$RUNS"); do
		if [ "$OURS" = 1 ]; then
			echo "\\echo @@ ours $r"
			echo "$Q_OURS"
		fi
		echo "\\! $WORK/time_curl.sh curl $r $WORK/curl_ka.cfg"
		echo "\\! $WORK/time_curl.sh curl_next $r $WORK/curl_next_ka.cfg"
		if [ "$OURS" = 1 ]; then
			echo "SET spotgo_gss.spotgo_server = 'spotgo_close';"
			echo "\\echo @@ ours_close $r"
			echo "$Q_OURS"
			echo "RESET spotgo_gss.spotgo_server;"
		fi
		echo "\\! $WORK/time_curl.sh curl_close $r $WORK/curl_close.cfg"
	done
} > "$WORK/timing.sql"
chmod a+r "$WORK/timing.sql"
log "timing: $RUNS runs (+1 warm-up) of each line, interleaved in one session"
bpsql -At -f "$WORK/timing.sql" > "$WORK/timing.out"

# "@@ label round" / count / "Time: 123.4 ms" -> "label<TAB>ms"; the first
# Time after a marker is the statement's
awk '/^@@ / { label = $2; round = $3; armed = 1; next }
     /^Time: / { if (armed && round > 0) printf "%s\t%s\n", label, $2; armed = 0 }' \
	"$WORK/timing.out" > "$WORK/timings.tsv"
awk -F'\t' '{ printf "%s\t%.3f\n", $1, $2 / 1e6 }' "$WORK/curl_times.tsv" >> "$WORK/timings.tsv"

mkdir -p "$OUT_DIR"
"$PYTHON" - "$WORK/timings.tsv" "$CHECKS" "$RUNS" "$CALLS" "${#BODY}" "$PGVER" \
	"$("$NGINX" -v 2>&1)" "$(curl --version | head -1 | cut -d' ' -f1-3)" "$CPU_TEXT" <<'PY' | tee "$OUT_DIR/spotgo_upsert.md"
import datetime, os, statistics, sys

timings, checks, runs, calls, body_len, pg, nginx, curl, cpu_text = sys.argv[1:10]
runs, calls = int(runs), int(calls)
times = {}
for line in open(timings):
    p = line.rstrip("\n").split("\t")
    if len(p) >= 2 and p[1]:
        times.setdefault(p[0], []).append(float(p[1]) / 1000.0)
chk = {}
for line in open(checks):
    who, s = line.rstrip("\n").split("\t")
    chk[who] = [float(x) for x in s.split()]

cpu = "unknown CPU"
try:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
except OSError:
    pass

labels = {
    "ours": "ours: `SELECT count(*) FROM generate_series(1,%d) i, LATERAL (SELECT spotgo_gss.spotgo_upsert_order(...)) s`" % calls,
    "curl": "curl: one process, `curl -K`, %s POSTs over one connection (one option block, one body)" % "{:,}".format(calls),
    "curl_next": "context: curl, %s `next` blocks, each with its own body (ours' bodies)" % "{:,}".format(calls),
    "ours_close": "context: ours, keep-alive defeated (nginx `keepalive_timeout 0`: a new connection per call)",
    "curl_close": "context: curl (one block), keep-alive defeated (same nginx port)",
}
med = {k: statistics.median(v) for k, v in times.items()}
out = []
out.append("## SpotGo upsert: %s sequential `spotgo_upsert_order` calls vs curl, nginx on loopback"
           % "{:,}".format(calls))
out.append("")
out.append("%s; %d cores (%s); %s; %s; %s; %s; median of %d runs" % (
    datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), os.cpu_count() or 0, cpu,
    pg, nginx, curl, cpu_text, runs))
out.append("")
out.append("| line | median | min | max | per request | vs curl |")
out.append("| --- | ---: | ---: | ---: | ---: | ---: |")
base = med.get("curl")
for key in ("ours", "curl", "curl_next", "ours_close", "curl_close"):
    if key not in times:
        if key.startswith("ours"):
            out.append("| %s | not measured: the extension is not ready | | | | |" % labels[key])
        continue
    v = times[key]
    out.append("| %s | %.3f s | %.3f s | %.3f s | %.3f ms | %s |" % (
        labels[key], med[key], min(v), max(v), med[key] * 1000 / calls,
        ("%.2fx" % (med[key] / base)) if base else ""))
out.append("")
out.append("Every timed run, in order (s): " + "; ".join(
    "%s %s" % (k, " ".join("%.3f" % x for x in times[k]))
    for k in ("ours", "curl", "curl_next", "ours_close", "curl_close") if k in times) + ".")
out.append("")
if "ours" in med and base:
    r = med["ours"] / base
    out.append("Ours / curl: **%.2fx** (target within 1.3x): %s." % (r, "met" if r <= 1.3 else "NOT met"))
    if "curl_next" in med:
        out.append("Ours / curl with `next` blocks: %.2fx." % (med["ours"] / med["curl_next"]))
    if "ours_close" in med and "curl_close" in med:
        out.append("Without keep-alive: ours / curl without keep-alive %.2fx; ours without / ours with keep-alive %.2fx."
                   % (med["ours_close"] / med["curl_close"], med["ours_close"] / med["ours"]))
    out.append("")
out.append("Checks (nginx access log of a separate port, one run each): response body %d bytes." % int(body_len))
out.append("")
out.append("| line | requests seen | POST answered 200 | connections | request line + headers, mean bytes | request body, mean bytes | response body bytes |")
out.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
for who in ("ours", "curl", "curl_next"):
    if who in chk:
        n, ok, nc, req, cl, resp = chk[who]
        out.append("| %s | %d | %d | %d | %.1f | %.1f | %d |" % (who, n, ok, nc, req, cl, resp))
print("\n".join(out))
PY
