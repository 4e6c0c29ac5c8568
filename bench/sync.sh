#!/usr/bin/env bash
# bench/sync.sh: spotgo_gss.sync_gss_orders() over 100,000 GSS orders: the
# initial sync into an empty local table, then a re-sync with nothing changed.
#
#   bash bench/sync.sh [--runs N]      (N fresh runs, default 3)
#
# nginx on loopback plays GoSweetSpot from static files: the 100 pages x 1,000
# orders of bench/data (gen_gss_pages.py, 85% processed, 15% open), the open
# ones again as the excludecompleted=true listing, and an empty page for any
# createdfrom= listing (nothing created since the watermark).  A throwaway
# cluster (autovacuum off, so the local table's statistics are known) runs
# the SQL.  Each round starts from a fresh extension (dropped and created
# again) and times: the initial sync; the re-sync right after it (no
# statistics on the new table); the re-sync after ANALYZE; for where the time
# goes, the two listings alone, the upsert alone (sync_gss_apply of the same
# rows into an empty table), and the initial sync and the analyzed re-sync
# with jit = off.  One psql session, psql's \timing; one untimed checking
# round first.  curl times the API side alone: the same pages each sync
# fetches.  Medians go to stdout and bench/out/sync.md.  See bench/README.md
# ("Scheduled sync").

RUNS=3
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) RUNS=$2; shift 2 ;;
	--runs=*) RUNS=${1#--runs=}; shift ;;
	-h | --help) sed -n '2,21p' "$0"; exit 0 ;;
	*) echo "usage: $0 [--runs N]" >&2; exit 2 ;;
	esac
done
case "$RUNS" in '' | *[!0-9]* | 0) echo "--runs needs a positive integer" >&2; exit 2 ;; esac

. "$(dirname "$0")/lib.sh"

PAGES=100
PAGE_SIZE=1000
ROWS=$((PAGES * PAGE_SIZE))

LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
case "$LOAD" in
0.[0-4]*) ;;
*) log "warning: load average $LOAD before the run: other work on this machine skews the timings" ;;
esac

bench_init
ensure_nginx
ensure_data

# ---- the API's pages, in $WORK/www (a copy: another script may regenerate bench/data) ----
# www/pages/pageN.json: the full listing, as generated.
# www/open/pageN.json:  the orders whose status is null (GSS: not processed
#                       yet), 1,000 a page, byte for byte as in the full pages.
# www/empty/page1.json: a listing with no rows (Pages 0).
WWW="$WORK/www"
mkdir -p "$WWW"
cp -r "$DATA_DIR/pages" "$WWW/pages"
read -r OPEN OPEN_PAGES < <("$PYTHON" - "$WWW" "$PAGES" "$PAGE_SIZE" "$BENCH_DIR" <<'EOF'
import json, math, os, sys
www, pages, size, bench = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
sys.path.insert(0, bench)
from gen_gss_pages import Raw, enc  # the generator's own serializer: same bytes
open_rows = []
for p in range(1, pages + 1):
    with open(os.path.join(www, "pages", "page%d.json" % p), encoding="utf-8") as f:
        page = json.load(f, parse_float=Raw, parse_int=Raw)
    open_rows += [o for o in page["Results"] if o.get("status") is None]
n = math.ceil(len(open_rows) / size)
os.makedirs(os.path.join(www, "open"), exist_ok=True)
for p in range(1, n + 1):
    out = []
    enc(open_rows[(p - 1) * size:p * size], out)
    head = '{"Page":%d,"PageSize":%d,"Pages":%d,"Results":' % (p, size, n)
    with open(os.path.join(www, "open", "page%d.json" % p), "wb") as f:
        f.write((head + "".join(out) + "}").encode("utf-8"))
os.makedirs(os.path.join(www, "empty"), exist_ok=True)
with open(os.path.join(www, "empty", "page1.json"), "w") as f:
    f.write('{"Page":1,"PageSize":%d,"Pages":0,"Results":[]}' % size)
print(len(open_rows), n)
EOF
)
[ -n "${OPEN_PAGES:-}" ] || die "could not write the open-orders pages"
chmod -R a+rX "$WWW"
if [ "$(id -u)" = 0 ]; then chown -R "$RUNAS" "$WWW"; fi
log "API data: $ROWS orders in $PAGES pages, $OPEN open in $OPEN_PAGES pages"

PORT=$(free_port)
# One access log line per request, for the checks (about 120 lines a sync).
# The listing a request asks for, by its query (not "if": nginx's "if" in a
# location drops try_files): excludecompleted=true -> open/, any createdfrom
# -> empty/, else pages/.
start_nginx "
    log_format sync '\$connection \$arg_page \"\$arg_excludecompleted\" \"\$arg_createdfrom\" \$status';
    map \"\$arg_excludecompleted:\$arg_createdfrom\" \$listing {
        \"~^true:\"  open;
        \"~^:.\"     empty;
        default      pages;
    }
    server {
        listen 127.0.0.1:$PORT;
        root $WWW;
        access_log $WORK/nginx/logs/access.log sync;
        location = /api/customerorders {
            if (\$arg_page !~ \"^[1-9][0-9]{0,5}\$\") { return 404; }
            try_files /\$listing/page\$arg_page.json =404;
        }
    }"
wait_http "http://127.0.0.1:$PORT/api/customerorders?page=1&pagesize=$PAGE_SIZE"
ACCESS_LOG="$WORK/nginx/logs/access.log"

start_cluster
ensure_extension || die "the extension does not build: nothing to measure"

# A fresh start: the extension dropped and created again (new, empty tables
# without planner statistics), its server and user mapping.
FRESH="DROP EXTENSION IF EXISTS spotgo_gss CASCADE;
CREATE EXTENSION spotgo_gss;
CREATE SERVER gss FOREIGN DATA WRAPPER spotgo_gss
  OPTIONS (api 'gss', base_url 'http://127.0.0.1:$PORT', site_id '1',
           page_size '$PAGE_SIZE', requests_per_minute '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER gss OPTIONS (access_key 'x');
CHECKPOINT;"
# autovacuum off: whether the local table has statistics is then known for
# every line (this script runs ANALYZE where a line says so).
bpsql -At >"$WORK/setup.log" 2>&1 <<EOF || { cat "$WORK/setup.log" >&2; die "setup failed"; }
SET client_min_messages = warning;
ALTER SYSTEM SET autovacuum = off;
SELECT pg_reload_conf();
$FRESH
EOF

# ---- checks (also the warm-up): what each sync returns, writes and requests ----
# access log lines since the last call: "plain open createdfrom other"
# (nginx logs an empty variable as "-")
: >"$ACCESS_LOG"
log_counts()
{
	local c
	c=$(awk '$5 != 200 { bad++; next }
	         $4 != "\"-\"" { cf++; next }
	         $3 == "\"true\"" { op++; next }
	         { pl++ }
	         END { printf "%d %d %d %d", pl, op, cf, bad }' "$ACCESS_LOG")
	: >"$ACCESS_LOG"
	echo "$c"
}
check()
{
	[ "$1" = "$2" ] || die "check failed: $3: got '$1', expected '$2'"
}
got=$(bpsql -At -c 'SELECT spotgo_gss.sync_gss_orders()')
check "$got" "$ROWS" "the initial sync's result"
check "$(log_counts)" "$PAGES $OPEN_PAGES 0 0" "the initial sync's requests (full pages, open pages, createdfrom, not 200)"
got=$(bpsql -At -c 'SELECT count(*), count(*) FILTER (WHERE open), count(*) FILTER (WHERE deleted_at IS NOT NULL) FROM spotgo_gss.gss_orders_local')
check "$got" "$ROWS|$OPEN|0" "local rows, open, deleted after the initial sync"
got=$(bpsql -At -c 'ANALYZE spotgo_gss.gss_orders_local' -c 'SELECT spotgo_gss.sync_gss_orders()')
check "$got" 0 "the re-sync's result (nothing changed)"
check "$(log_counts)" "0 $OPEN_PAGES 1 0" "the re-sync's requests"
got=$(bpsql -At -c 'SELECT ok, rows_changed, local_rows FROM spotgo_gss.sync_status')
check "$got" "t|0|$ROWS" "sync_status after the re-sync"
log "checks passed: initial sync $ROWS rows in $((PAGES + OPEN_PAGES)) requests, re-sync 0 rows in $((OPEN_PAGES + 1))"

# ---- memory: a fresh backend's VmHWM around one initial sync ----
mem=$(bpsql -At -c 'TRUNCATE spotgo_gss.gss_orders_local, spotgo_gss.sync_state' \
	-c "$SQL_PROC_STATUS" -c 'SELECT spotgo_gss.sync_gss_orders()' -c "$SQL_PROC_STATUS" | tr '\n' ' ')
log "fresh backend VmHWM/VmRSS (kB) before, result, after: $mem"

# ---- timings: one psql session, RUNS rounds, each from a fresh extension ----
Q_SYNC="SELECT spotgo_gss.sync_gss_orders();"
Q_LIST="SELECT count(*) FROM spotgo_gss.gss_customer_orders(include_products => true);"
Q_OPEN="SELECT count(*) FROM spotgo_gss.gss_customer_orders(exclude_completed => true, include_products => true);"
# the staged rows exactly as sync_gss_orders() hands them to sync_gss_apply()
PREP="SELECT spotgo_gss.sync_stage('gss_orders');
INSERT INTO pg_temp.spotgo_gss_gss_stage
SELECT o.*, false FROM spotgo_gss.gss_customer_orders(include_products => true) o;
INSERT INTO pg_temp.spotgo_gss_gss_stage
SELECT o.*, true FROM spotgo_gss.gss_customer_orders(exclude_completed => true, include_products => true) o;
TRUNCATE spotgo_gss.gss_orders_local, spotgo_gss.sync_state;
CHECKPOINT;"
Q_APPLY="SELECT spotgo_gss.sync_gss_apply('gss', now());"
ANALYZE="ANALYZE spotgo_gss.gss_orders_local;"
timed() { printf '\\timing on\n\\echo @@ %s\n%s\n\\timing off\n' "$1" "$2"; }
{
	echo 'SET client_min_messages = warning;'
	for r in $(seq 1 "$RUNS"); do
		echo "$FRESH"
		timed "initial $r" "$Q_SYNC"
		timed "resync $r" "$Q_SYNC"
		echo "$ANALYZE"
		timed "resync_analyzed $r" "$Q_SYNC"
		timed "listing $r" "$Q_LIST"
		timed "open $r" "$Q_OPEN"
		echo "$PREP"
		timed "apply $r" "$Q_APPLY"
		echo "$FRESH"
		echo 'SET jit = off;'
		timed "initial_nojit $r" "$Q_SYNC"
		echo "$ANALYZE"
		timed "resync_analyzed_nojit $r" "$Q_SYNC"
		echo 'RESET jit;'
	done
} >"$WORK/timing.sql"
chmod a+r "$WORK/timing.sql"
log "timing: $RUNS fresh rounds in one session (about 40 s a round)"
bpsql -At -f "$WORK/timing.sql" >"$WORK/timing.out"

# "@@ label round" / result / "Time: 123.4 ms" -> "label<TAB>ms<TAB>result"
awk '/^@@ / { label = $2; res = ""; next }
     /^Time: / { if (label != "") printf "%s\t%s\t%s\n", label, $2, res; label = ""; next }
     { res = $1 }' "$WORK/timing.out" >"$WORK/timings.tsv"

# ---- the API side alone: the same requests with curl, one process, one connection each ----
BASE="http://127.0.0.1:$PORT/api/customerorders"
URLS_INITIAL=("$BASE?page=[1-$PAGES]&pagesize=$PAGE_SIZE&includeProducts=true"
	"$BASE?page=[1-$OPEN_PAGES]&pagesize=$PAGE_SIZE&excludecompleted=true&includeProducts=true")
URLS_RESYNC=("$BASE?page=1&pagesize=$PAGE_SIZE&createdfrom=2026-01-01%2000%3A00%3A00Z&includeProducts=true"
	"$BASE?page=[1-$OPEN_PAGES]&pagesize=$PAGE_SIZE&excludecompleted=true&includeProducts=true")
: >"$ACCESS_LOG"
conns=$(curl -s -w '%{num_connects}\n' -o /dev/null -o /dev/null "${URLS_INITIAL[@]}" | awk '{ s += $1 } END { print s }')
[ "$conns" = 1 ] || log "warning: curl used $conns connections for the initial sync's pages"
check "$(log_counts)" "$PAGES $OPEN_PAGES 0 0" "curl's requests for the initial sync"
curl -s -o /dev/null -o /dev/null "${URLS_RESYNC[@]}"
check "$(log_counts)" "0 $OPEN_PAGES 1 0" "curl's requests for the re-sync"
for r in $(seq 1 "$RUNS"); do
	for which in initial resync; do
		if [ "$which" = initial ]; then urls=("${URLS_INITIAL[@]}"); else urls=("${URLS_RESYNC[@]}"); fi
		t0=$(date +%s%N)
		curl -s -o /dev/null -o /dev/null "${urls[@]}"
		t1=$(date +%s%N)
		printf 'curl_%s\t%s\t\n' "$which" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e6 }')" \
			>>"$WORK/timings.tsv"
	done
done
bytes_initial=$(cat "$WWW"/pages/page*.json "$WWW"/open/page*.json | wc -c)
bytes_resync=$(cat "$WWW"/empty/page1.json "$WWW"/open/page*.json | wc -c)

# ---- the table ----
mkdir -p "$OUT_DIR"
"$PYTHON" - "$WORK/timings.tsv" "$RUNS" "$ROWS" "$PAGES" "$OPEN" "$OPEN_PAGES" \
	"$bytes_initial" "$bytes_resync" "$mem" "$LOAD" \
	"$("$PGBIN/postgres" --version)" "$("$NGINX" -v 2>&1)" <<'EOF' | tee "$OUT_DIR/sync.md"
import datetime, os, statistics, sys
(tsv, runs, rows, pages, open_rows, open_pages, b_init, b_re, mem, load, pg, nginx) = sys.argv[1:]
runs, rows, pages, open_rows, open_pages = int(runs), int(rows), int(pages), int(open_rows), int(open_pages)
t, res = {}, {}
for line in open(tsv):
    k, ms, r = (line.rstrip("\n").split("\t") + ["", ""])[:3]
    if ms:
        t.setdefault(k, []).append(float(ms) / 1000)
        res.setdefault(k, []).append(r)
med = {k: statistics.median(v) for k, v in t.items()}
cpu = "unknown CPU"
for l in open("/proc/cpuinfo"):
    if l.startswith("model name"):
        cpu = l.split(":", 1)[1].strip()
        break
n = lambda x: "{:,}".format(x)
out = ["## Scheduled sync: 100,000 GSS orders from nginx on loopback", "",
       "%s; %d cores (%s); %s; %s; median of %d fresh runs; load average before the run %s" % (
           datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), os.cpu_count() or 0, cpu,
           pg, nginx, runs, load), "",
       "| line | median | min | max | requests | rows | rows/s | time / initial |",
       "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
lines = [
    ("initial", "**initial sync**: `SELECT spotgo_gss.sync_gss_orders()` into an empty table", pages + open_pages, rows),
    ("resync", "**re-sync, nothing changed**, right after: the same call again (returns 0); no statistics on the new table yet", open_pages + 1, open_rows),
    ("resync_analyzed", "**re-sync, nothing changed**, after `ANALYZE` of the local table", open_pages + 1, open_rows),
    ("listing", "where the time goes: the full listing alone, `count(*)` of `gss_customer_orders(include_products => true)`", pages, rows),
    ("open", "where the time goes: the open listing alone (`exclude_completed => true`)", open_pages, open_rows),
    ("apply", "where the time goes: the upsert alone, `sync_gss_apply()` of the initial sync's listed rows into an empty table", 0, rows),
    ("initial_nojit", "where the time goes: initial sync with `SET jit = off`", pages + open_pages, rows),
    ("resync_analyzed_nojit", "where the time goes: re-sync after `ANALYZE`, `SET jit = off`", open_pages + 1, open_rows),
    ("curl_initial", "API side alone: curl, the initial sync's %d pages (%.1f MB), one connection" % (pages + open_pages, int(b_init) / 1e6), pages + open_pages, rows + open_rows),
    ("curl_resync", "API side alone: curl, the re-sync's %d pages (%.1f MB), one connection" % (open_pages + 1, int(b_re) / 1e6), open_pages + 1, open_rows),
]
for k, text, reqs, nrows in lines:
    if k not in t:
        continue
    m = med[k]
    vs = "%.2fx" % (m / med["initial"]) if "initial" in med and k != "initial" else ""
    out.append("| %s | %.3f s | %.3f s | %.3f s | %s | %s | %s | %s |" % (
        text, m, min(t[k]), max(t[k]), n(reqs), n(nrows), n(round(nrows / m)) if m else "", vs))
out.append("")
out.append("Rows/s: rows listed (initial: local rows written) over the time; \"time / initial\": the line's median over the initial sync's.")
out.append("")
out.append("Every timed run, in order (s): " + "; ".join(
    "%s %s" % (k, " ".join("%.3f" % x for x in t[k])) for k, *_ in lines if k in t) + ".")
out.append("Results returned: " + "; ".join(
    "%s %s" % (k, " ".join(res[k])) for k in ("initial", "resync", "resync_analyzed", "initial_nojit", "resync_analyzed_nojit") if k in res) + ".")
out.append("")
if "initial" in med and "resync" in med:
    rate = rows / med["initial"]
    out.append("- Initial sync: **%s rows/s** (target at least 50,000): %s." % (
        n(round(rate)), "met" if rate >= 50000 else "NOT met"))
    for k, what in (("resync", "right after the initial sync"), ("resync_analyzed", "after ANALYZE")):
        if k in med:
            ratio = med["initial"] / med[k]
            out.append("- Re-sync of the unchanged set, %s: **%.2fx** the initial sync's speed (target at least 5x faster): %s." % (
                what, ratio, "met" if ratio >= 5 else "NOT met"))
    if all(k in med for k in ("initial_nojit", "resync_analyzed_nojit")):
        out.append("- With `jit = off`: initial %.3f s (%s rows/s), re-sync after ANALYZE %.3f s: %.2fx faster." % (
            med["initial_nojit"], n(round(rows / med["initial_nojit"])), med["resync_analyzed_nojit"],
            med["initial_nojit"] / med["resync_analyzed_nojit"]))
    if all(k in med for k in ("listing", "open", "apply")):
        parts = med["listing"] + med["open"] + med["apply"]
        out.append("- Initial sync %.3f s against its parts: full listing %.3f s + open listing %.3f s + upsert %.3f s = %.3f s (the rest, %.3f s: collecting the rows into arrays, step 3, sync_state)." % (
            med["initial"], med["listing"], med["open"], med["apply"], parts, med["initial"] - parts))
    if "curl_initial" in med:
        out.append("- The API side (nginx + transfer, measured by curl) is %.1f%% of the initial sync's time and %.1f%% of the re-sync's after ANALYZE." % (
            100 * med["curl_initial"] / med["initial"], 100 * med.get("curl_resync", 0) / med.get("resync_analyzed", med["resync"])))
v = mem.split()
if len(v) >= 5:
    out.append("- Backend memory, one fresh backend around one initial sync: VmHWM %.1f MB before, %.1f MB after (peak growth **%.1f MB**)." % (
        int(v[0]) / 1024, int(v[3]) / 1024, (int(v[3]) - int(v[0])) / 1024))
print("\n".join(out))
EOF
