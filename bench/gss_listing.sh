#!/usr/bin/env bash
# bench/gss_listing.sh: spotgo_gss.gss_customer_orders() and the foreign
# table s.customer_orders against their SQL reference and floors, plus the
# backend's peak memory, in one run.
#
#   bash bench/gss_listing.sh [--runs N]      (N timed runs per line, default 5)
#
# nginx serves 100 pages x 1,000 GSS orders (bench/data, generated once) from
# static files on loopback; a throwaway cluster runs the SQL.  All SQL lines
# run interleaved in ONE psql session (one backend), round after round, after
# one untimed warm-up round; each is timed by psql's \timing (client-side wall
# time of the statement, one row back).  The curl floor is timed around one
# curl process.  Medians of the timed runs go to stdout and
# bench/out/gss_listing.md.  See bench/README.md.

RUNS=5
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) RUNS=$2; shift 2 ;;
	--runs=*) RUNS=${1#--runs=}; shift ;;
	-h | --help) sed -n '2,13p' "$0"; exit 0 ;;
	*) echo "usage: $0 [--runs N]" >&2; exit 2 ;;
	esac
done
case "$RUNS" in '' | *[!0-9]* | 0) echo "--runs needs a positive integer" >&2; exit 2 ;; esac

. "$(dirname "$0")/lib.sh"

PAGES=100
PAGE_SIZE=1000
ROWS=$((PAGES * PAGE_SIZE))
MEM_REPEAT=10

LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
case "$LOAD" in
0.[0-4]*) ;;
*) log "warning: load average $LOAD before the run: other work on this machine skews the timings" ;;
esac

bench_init
ensure_nginx
ensure_data

PORT_MAIN=$(free_port)
PORT_MEM=$(free_port)
while [ "$PORT_MEM" = "$PORT_MAIN" ]; do PORT_MEM=$(free_port); done

# Main server: page N -> pages/pageN.json.  Memory server: a listing of
# 1,000 pages; page N -> mem/pageK.json with K = ((N - 1) % 100) + 1, whose
# "Page" header nginx fills in from the request (SSI), so every response is a
# correct page of a 1,000,000-row listing.
start_nginx "
    map \$arg_page \$mem_page {
        default                \"\";
        \"~^([1-9])\$\"            \$1;
        \"~^[0-9]*00\$\"           100;
        \"~^[0-9]*0([1-9])\$\"     \$1;
        \"~^[0-9]*([1-9][0-9])\$\" \$1;
    }
    server {
        listen 127.0.0.1:$PORT_MAIN;
        root $DATA_DIR;
        location = /api/customerorders {
            if (\$arg_page !~ \"^[1-9][0-9]{0,5}\$\") { return 404; }
            try_files /pages/page\$arg_page.json =404;
        }
    }
    server {
        listen 127.0.0.1:$PORT_MEM;
        root $DATA_DIR;
        location = /api/customerorders {
            if (\$arg_page !~ \"^[1-9][0-9]{0,3}\$\") { return 404; }
            ssi on;
            ssi_types application/json;
            try_files /mem/page\$mem_page.json =404;
        }
    }"
wait_http "http://127.0.0.1:$PORT_MAIN/api/customerorders?page=1&pagesize=$PAGE_SIZE"
wait_http "http://127.0.0.1:$PORT_MEM/api/customerorders?page=1000&pagesize=$PAGE_SIZE"

start_cluster
OURS=1
ensure_extension || OURS=0

if [ "$OURS" = 1 ]; then
	if ! bpsql -At >"$WORK/setup.log" 2>&1 <<EOF
CREATE EXTENSION spotgo_gss;
CREATE SERVER gss FOREIGN DATA WRAPPER spotgo_gss
  OPTIONS (api 'gss', base_url 'http://127.0.0.1:$PORT_MAIN', site_id '1',
           page_size '$PAGE_SIZE', requests_per_minute '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER gss OPTIONS (access_key 'x');
CREATE SERVER gss_mem FOREIGN DATA WRAPPER spotgo_gss
  OPTIONS (api 'gss', base_url 'http://127.0.0.1:$PORT_MEM', site_id '1',
           page_size '$PAGE_SIZE', requests_per_minute '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER gss_mem OPTIONS (access_key 'x');
CREATE SCHEMA s;
IMPORT FOREIGN SCHEMA gss LIMIT TO (customer_orders) FROM SERVER gss INTO s;
CREATE SCHEMA s_mem;
IMPORT FOREIGN SCHEMA gss LIMIT TO (customer_orders) FROM SERVER gss_mem INTO s_mem;
SELECT count(*) FROM spotgo_gss.gss_customer_orders();
EOF
	then
		cat "$WORK/setup.log" >&2
		log "spotgo_gss is installed but the listing does not work: measuring without it"
		OURS=0
	else
		got=$(tail -1 "$WORK/setup.log" | tr -d ' ')
		if [ "$got" != "$ROWS" ]; then
			cat "$WORK/setup.log" >&2
			log "gss_customer_orders() returned $got rows, not $ROWS: measuring without it"
			OURS=0
		fi
	fi
fi

# ---- timings: one psql session, warm-up round 0, then rounds 1..RUNS ----
Q_OURS="SELECT count(*) FROM spotgo_gss.gss_customer_orders();"
# The foreign table, as a BI tool asks: rows streamed to the executor, only
# the four columns used built (products asked for because it is used).
Q_FDW="SELECT count(*), max(consignee), max(city), count(products) FROM s.customer_orders;"
# What a user of a generic HTTP client runs once the bodies are in hand: the
# same pages, expanded into the same columns as spotgo_gss.gss_order (status
# object flattened, products/packages as jsonb, the fields without a column
# kept as text).  count(ROW(...)) makes the executor compute every column.
Q_REF="SELECT count(ROW(r.packingslipno, r.consignee, r.address1, r.address2, r.suburb,
  r.city, r.postcode, r.country, r.delvref, r.delvinstructions, r.contactname,
  r.contactphone, r.email, r.\"rawAddress\", r.costcentre, r.isrural, r.notrural,
  r.status->>'Status', r.status->>'ticketnumber', r.status->>'trackingurl',
  (r.status->>'Picked')::timestamp, (r.status->>'Delivered')::timestamp,
  (r.status->>'manualticket')::boolean, r.products, r.packages,
  r.\"customField1Value\", r.\"customField2Value\"))
FROM generate_series(1, $PAGES) AS p,
  LATERAL jsonb_to_recordset(pg_read_file('$DATA_DIR/pages/page' || p || '.json')::jsonb -> 'Results')
    AS r(packingslipno text, consignee text, address1 text, address2 text, suburb text,
         city text, postcode text, country text, delvref text, delvinstructions text,
         contactname text, contactphone text, email text, \"rawAddress\" text,
         costcentre text, isrural boolean, notrural boolean, status jsonb,
         products jsonb, packages jsonb, \"customField1Value\" text,
         \"customField2Value\" text);"
# Validation only: the json input function checks the text and keeps it.
Q_JSON="SELECT $PAGE_SIZE * count(*) FROM generate_series(1, $PAGES) AS p
WHERE octet_length(pg_read_file('$DATA_DIR/pages/page' || p || '.json')::json::text) > 0;"

{
	echo '\timing on'
	for r in $(seq 0 "$RUNS"); do
		if [ "$OURS" = 1 ]; then
			echo "\\echo @@ ours $r"
			echo "$Q_OURS"
			echo "\\echo @@ fdw $r"
			echo "$Q_FDW"
		fi
		echo "\\echo @@ reference $r"
		echo "$Q_REF"
		echo "\\echo @@ json $r"
		echo "$Q_JSON"
	done
} > "$WORK/timing.sql"
chmod a+r "$WORK/timing.sql"
log "timing: $RUNS runs (+1 warm-up) of each line, interleaved in one session"
bpsql -At -f "$WORK/timing.sql" > "$WORK/timing.out"

# "@@ label round" / rows / "Time: 123.4 ms" -> "label<TAB>ms<TAB>rows"
awk '/^@@ / { label = $2; round = $3; rows = ""; next }
     /^Time: / { if (round > 0) printf "%s\t%s\t%s\n", label, $2, rows; next }
     { split($0, f, "|"); rows = f[1] }' "$WORK/timing.out" > "$WORK/timings.tsv"

# curl floor: the 100 pages in one curl process (URL glob: one connection)
URL="http://127.0.0.1:$PORT_MAIN/api/customerorders?page=[1-$PAGES]&pagesize=$PAGE_SIZE"
conns=$(curl -s -o /dev/null -w '%{num_connects}\n' "$URL" | awk '{ s += $1 } END { print s }')
[ "$conns" = 1 ] || log "warning: curl used $conns connections for the $PAGES pages"
for r in $(seq 1 "$RUNS"); do
	t0=$(date +%s%N)
	curl -s -o /dev/null "$URL"
	t1=$(date +%s%N)
	printf 'curl\t%s\t%s\n' "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e6 }')" "$ROWS" \
		>> "$WORK/timings.tsv"
done

# ---- memory: VmHWM of a fresh backend around one listing ----
: > "$WORK/memory.tsv"
if [ "$OURS" = 1 ]; then
	for spec in "ours gss $PAGES" "ours gss_mem $((PAGES * MEM_REPEAT))" \
		"fdw s $PAGES" "fdw s_mem $((PAGES * MEM_REPEAT))"; do
		set -- $spec
		if [ "$1" = ours ]; then
			q="SELECT count(*) FROM spotgo_gss.gss_customer_orders(server => '$2')"
		else
			q="SELECT c FROM (SELECT count(*) AS c, max(consignee), max(city), count(products) FROM $2.customer_orders) x"
		fi
		out=$(bpsql -At -c "$SQL_PROC_STATUS" -c "$q" -c "$SQL_PROC_STATUS")
		# label, pages, then before: "hwm rss", count, after: "hwm rss"
		printf '%s\t%s\t%s\n' "$1" "$3" "$(echo "$out" | tr '\n' ' ')" >> "$WORK/memory.tsv"
	done
fi

mkdir -p "$OUT_DIR"
data_bytes=$(cat "$DATA_DIR"/pages/page*.json | wc -c)
"$PYTHON" "$BENCH_DIR/summarize.py" listing \
	--timings "$WORK/timings.tsv" --memory "$WORK/memory.tsv" \
	--runs "$RUNS" --rows "$ROWS" --pages "$PAGES" --bytes "$data_bytes" \
	--ours "$OURS" --pg "$("$PGBIN/postgres" --version)" \
	--nginx "$("$NGINX" -v 2>&1)" --load "$LOAD" | tee "$OUT_DIR/gss_listing.md"
