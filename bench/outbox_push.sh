#!/usr/bin/env bash
# bench/outbox_push.sh: the push path.  ORDERS rows inserted with
# INSERT .. SELECT generate_series into a table whose row trigger enqueues
# them in spotgo_gss.outbox, then delivered to nginx answering a fixed 200.
#
#   bash bench/outbox_push.sh [--runs N] [--orders N] [--no-worker]
#                             (defaults: 3 runs, 10000 orders)
#
# Part 1, cluster without the background worker (no shared_preload_libraries),
# one psql session (one backend), round after round after one untimed
# warm-up round, each statement timed by psql's \timing:
#   - the INSERT into an emptied (TRUNCATEd) table without a trigger, then
#     with the trigger (push_gss_order; push_spotgo_order with an SQL mapping
#     function; push_gss_order as a statement-level trigger), and context
#     lines with plain PL/pgSQL triggers (row-level into a queue table;
#     statement-level into a copy of the outbox; statement-level, keys only)
#     and the outbox rows alone (the same keys and payloads inserted into a
#     copy of the outbox by one INSERT .. SELECT, no trigger);
#   - an UPDATE of all rows, without the trigger and with it while every
#     row's item is still pending (each change replaces its pending item);
#   - CALL spotgo_gss.drain_outbox(100000) until the outbox is empty:
#     GSS (batch_size 50, one PUT per 50 orders) and SpotGo (one POST per
#     order, max_concurrency 8, then 16), each twice: with the outbox
#     without planner statistics and after ANALYZE (the plans differ).
#     After each drain the script checks that all ORDERS items are 'done'
#     and counts the requests and new connections nginx saw (stub_status).
# Part 2 (skipped with --no-worker): the same cluster restarted with
# shared_preload_libraries = 'spotgo_gss'; a procedure runs the INSERT,
# COMMITs (which wakes the worker) and polls the count of done items every
# 20 ms: time from COMMIT until all are done, in both statistics states.
#
# nginx (one worker, keep-alive, keepalive_requests 100000) answers
# PUT /api/customerorders with a fixed array of 50 {"result":true,"msg":""}
# (no packingslipno: the extension then matches answers by position, so a
# fixed body fits any batch of up to 50) and POST /api/v1/orders/upsert with
# a fixed SpotGo upsert answer.  No CPU pinning.  Medians go to stdout and
# bench/out/outbox_push.md.  See bench/README.md.

RUNS=3
ORDERS=10000
WORKER=1
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) RUNS=$2; shift 2 ;;
	--runs=*) RUNS=${1#--runs=}; shift ;;
	--orders) ORDERS=$2; shift 2 ;;
	--orders=*) ORDERS=${1#--orders=}; shift ;;
	--no-worker) WORKER=0; shift ;;
	-h | --help) sed -n '2,37p' "$0"; exit 0 ;;
	*) echo "usage: $0 [--runs N] [--orders N] [--no-worker]" >&2; exit 2 ;;
	esac
done
case "$RUNS" in '' | *[!0-9]* | 0) echo "--runs needs a positive integer" >&2; exit 2 ;; esac
case "$ORDERS" in '' | *[!0-9]* | 0) echo "--orders needs a positive integer" >&2; exit 2 ;; esac

. "$(dirname "$0")/lib.sh"

BATCH=50
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
case "$LOAD" in
0.[0-4]*) ;;
*) log "warning: load average $LOAD before the run: other work on this machine skews the timings" ;;
esac

# GSS's answer to a PUT of up to BATCH orders: one result per order, by position
GSS_BODY="[$(for i in $(seq 1 $BATCH); do printf '%s{"result":true,"msg":""}' "$([ "$i" = 1 ] || echo ,)"; done)]"
# SpotGo's upsert answer (shortened OrderViewModel, ../../shared/api/spotgo.md)
SPOTGO_BODY='{"created":true,"updated":false,"linkChanged":false,"order":{"orderId":"3fa85f64-5717-4562-b3fc-2c963f66afa6","status":"Created","orderNumber":"X","createdAt":"2026-08-20T09:12:44.512Z","carrier":{"name":"Trans","email":"dispatch@trans.example.pl","vatCode":"PL123"},"requiredDocumentTypes":["cmr"],"details":{"weight":1200.5,"licensePlates":["WX12345"]},"locations":[{"sequence":1,"type":"Loading","startDate":"2026-08-24T14:15:22.123Z","countryCode":"PL","city":"Warszawa"}],"documents":[]}}'

bench_init
ensure_nginx

PORT=$(free_port)
start_nginx "
    server {
        listen 127.0.0.1:$PORT;
        location = /api/customerorders { return 200 '$GSS_BODY'; }
        location = /api/v1/orders/upsert { return 200 '$SPOTGO_BODY'; }
        location = /nginx_status { stub_status; }
        location / { return 404; }
    }"
wait_http "http://127.0.0.1:$PORT/nginx_status"
got=$(curl -s -X PUT -d '[{}]' -w '\n%{http_code}' "http://127.0.0.1:$PORT/api/customerorders")
[ "$got" = "$GSS_BODY
200" ] || die "nginx answers the GSS PUT with something else: $got"
got=$(curl -s -X POST -d '{}' -w '\n%{http_code}' "http://127.0.0.1:$PORT/api/v1/orders/upsert")
[ "$got" = "$SPOTGO_BODY
200" ] || die "nginx answers the SpotGo POST with something else: $got"

# stub.sh LABEL ROUND: nginx's counters (accepted connections, requests)
cat > "$WORK/stub.sh" <<EOF
#!/bin/sh
curl -s "http://127.0.0.1:$PORT/nginx_status" |
	awk -v l="\$1" -v r="\$2" 'NR == 3 { printf "%s\t%s\t%s\t%s\n", l, r, \$1, \$3 }' >> "$WORK/stub.tsv"
EOF
chmod a+rx "$WORK/stub.sh"
: > "$WORK/stub.tsv"
if [ "$(id -u)" = 0 ]; then chown "$RUNAS" "$WORK/stub.tsv"; fi

start_cluster
ensure_extension || die "the extension does not build: nothing to measure"
PGVER=$("$PGBIN/postgres" --version)

# ---- tables, INSERTs, mapping function ----
GSS_TABLE="CREATE TABLE gss_orders (
  packingslipno text PRIMARY KEY, consignee text, address1 text, suburb text, city text,
  postcode text, country text, email text, delvinstructions text);"
GSS_INSERT="INSERT INTO gss_orders
  SELECT 'PS-' || i, 'Consignee ' || i, i || ' Queen Street', 'Auckland Central', 'Auckland',
         (1000 + i % 9000)::text, 'NZ', 'c' || i || '@example.co.nz', 'Leave at the door'
    FROM generate_series(1, $ORDERS) i;"
SPOTGO_TABLE="CREATE TABLE spotgo_orders (
  order_number text PRIMARY KEY, carrier_name text, carrier_vat text, load_city text,
  load_country text, load_at timestamptz, weight numeric);"
SPOTGO_INSERT="INSERT INTO spotgo_orders
  SELECT 'ORD-' || i, 'Trans', 'PL123', 'Warszawa', 'PL',
         timestamptz '2026-08-24 14:15:22+00' + i * interval '1 minute', 1000 + i % 500
    FROM generate_series(1, $ORDERS) i;"
GSS_TRIGGER="CREATE TRIGGER push AFTER INSERT OR UPDATE OR DELETE ON gss_orders
  FOR EACH ROW EXECUTE FUNCTION spotgo_gss.push_gss_order();"
# spotgo_trigger SERVER
spotgo_trigger()
{
	echo "CREATE TRIGGER push AFTER INSERT OR UPDATE OR DELETE ON spotgo_orders
  FOR EACH ROW EXECUTE FUNCTION spotgo_gss.push_spotgo_order('bench_spotgo_payload(spotgo_orders)', '$1');"
}
PLAIN_TRIGGER="CREATE TRIGGER push AFTER INSERT OR UPDATE OR DELETE ON gss_orders
  FOR EACH ROW EXECUTE FUNCTION bench_plain_enqueue();"
STMT_OUTBOX_TRIGGER="CREATE TRIGGER push AFTER INSERT ON gss_orders REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION bench_stmt_outbox();"
STMT_KEYS_TRIGGER="CREATE TRIGGER push AFTER INSERT ON gss_orders REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION bench_stmt_keys();"
GSS_STMT_TRIGGER="CREATE TRIGGER push AFTER INSERT ON gss_orders REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION spotgo_gss.push_gss_order('', 'gss');"
RESET_OUTBOX="TRUNCATE spotgo_gss.outbox, spotgo_gss.spotgo_order_ids, bench_queue, bench_outbox, bench_keys;"
CHECK_SQL="SELECT coalesce(string_agg(state || '=' || n, ',' ORDER BY state), 'empty')
  FROM (SELECT state, count(*) AS n FROM spotgo_gss.outbox GROUP BY state) s;"

bpsql >"$WORK/setup.log" 2>&1 <<EOF || { cat "$WORK/setup.log" >&2; die "setup failed"; }
CREATE EXTENSION spotgo_gss;
CREATE SERVER gss FOREIGN DATA WRAPPER spotgo_gss
  OPTIONS (api 'gss', base_url 'http://127.0.0.1:$PORT', site_id '1',
           batch_size '$BATCH', requests_per_minute '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER gss OPTIONS (access_key 'x');
CREATE SERVER spotgo8 FOREIGN DATA WRAPPER spotgo_gss
  OPTIONS (api 'spotgo', base_url 'http://127.0.0.1:$PORT', max_concurrency '8');
CREATE USER MAPPING FOR CURRENT_USER SERVER spotgo8 OPTIONS (api_key 'x');
CREATE SERVER spotgo16 FOREIGN DATA WRAPPER spotgo_gss
  OPTIONS (api 'spotgo', base_url 'http://127.0.0.1:$PORT', max_concurrency '16');
CREATE USER MAPPING FOR CURRENT_USER SERVER spotgo16 OPTIONS (api_key 'x');
$SPOTGO_TABLE
CREATE FUNCTION bench_spotgo_payload(o spotgo_orders) RETURNS jsonb
LANGUAGE sql STABLE AS \$\$
  SELECT jsonb_build_object(
    'orderNumber', o.order_number,
    'carrier', jsonb_build_object('name', o.carrier_name, 'vatCode', o.carrier_vat),
    'details', jsonb_build_object('weight', o.weight),
    'locations', jsonb_build_array(jsonb_build_object(
        'sequence', 1, 'type', 'Loading', 'city', o.load_city, 'countryCode', o.load_country,
        'startDate', to_char(o.load_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))))
\$\$;
-- the benchmark sets the outbox's statistics itself (see drain below)
ALTER TABLE spotgo_gss.outbox SET (autovacuum_enabled = off);
-- context: the least a trigger-filled queue costs, in PL/pgSQL
CREATE TABLE bench_queue (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, payload jsonb NOT NULL);
CREATE FUNCTION bench_plain_enqueue() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
  INSERT INTO bench_queue (payload) VALUES (to_jsonb(NEW));
  RETURN NULL;
END \$\$;
-- context: set-based, one statement-level trigger with a transition table,
-- (a) into a copy of the outbox (same columns, defaults, CHECKs, indexes),
-- with the extension's ON CONFLICT; (b) only the keys, into an unlogged
-- table without indexes
CREATE TABLE bench_outbox (LIKE spotgo_gss.outbox INCLUDING ALL);
CREATE FUNCTION bench_stmt_outbox() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
  INSERT INTO bench_outbox AS o (server, operation, object_key, payload, enqueued_by)
  SELECT 'gss', 'gss.upsert_order', n.packingslipno, to_jsonb(n), current_user::regrole FROM new_rows n
  ON CONFLICT (server, object_key, enqueued_by) WHERE state = 'pending' DO UPDATE
  SET operation = excluded.operation, payload = excluded.payload,
      version = o.version + 1, attempts = 0, next_attempt_at = now(), last_status = NULL, last_error = NULL;
  RETURN NULL;
END \$\$;
CREATE UNLOGGED TABLE bench_keys (k text);
-- context: the outbox rows alone, from keys and payloads prepared beforehand
CREATE TABLE bench_payloads (k text, p jsonb);
CREATE FUNCTION bench_stmt_keys() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
  INSERT INTO bench_keys SELECT n.packingslipno FROM new_rows n;
  RETURN NULL;
END \$\$;
-- part 2: INSERT, COMMIT, then poll every 20 ms until n items are done
CREATE PROCEDURE bench_insert_wait(stmt text, n bigint, INOUT insert_ms float8 DEFAULT NULL,
                                   INOUT done_ms float8 DEFAULT NULL)
LANGUAGE plpgsql AS \$\$
DECLARE
  t0 timestamptz := clock_timestamp();
  c bigint;
BEGIN
  EXECUTE stmt;
  COMMIT;
  insert_ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
  t0 := clock_timestamp();
  LOOP
    SELECT count(*) INTO c FROM spotgo_gss.outbox WHERE state = 'done';
    EXIT WHEN c >= n;
    IF clock_timestamp() - t0 > interval '300 seconds' THEN
      RAISE EXCEPTION 'only % of % items done after 300 s', c, n;
    END IF;
    PERFORM pg_sleep(0.02);
  END LOOP;
  done_ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
END \$\$;
$GSS_TABLE
EOF

# reset TABLE [TRIGGER]: empty table (new relfilenode), its trigger replaced,
# empty outbox, a checkpoint so none falls inside the timed statement
reset()
{
	echo "TRUNCATE $1; DROP TRIGGER IF EXISTS push ON $1; ${2:-} $RESET_OUTBOX CHECKPOINT;"
}
# The plans of the drain's claim and record statements depend on the outbox's
# planner statistics, so every drain runs in two states, made deterministic
# (autovacuum is off on the outbox during the benchmark):
#   fresh     no statistics (a new installation before the first ANALYZE)
#   analyzed  statistics of an outbox with claimed_by NULL in every row, as
#             autovacuum leaves them (it analyzes after a 10,000-row INSERT)
NO_STATS="DELETE FROM pg_catalog.pg_statistic WHERE starelid = 'spotgo_gss.outbox'::regclass;"
ANALYZE_OUTBOX="ANALYZE spotgo_gss.outbox;"

# drain LABEL ROUND: the timed CALL between two nginx counter reads, then the check
drain()
{
	echo "\\! $WORK/stub.sh ${1}_before $2"
	echo "\\echo @@ $1 $2"
	echo "CALL spotgo_gss.drain_outbox(100000);"
	echo "\\! $WORK/stub.sh ${1}_after $2"
	echo "\\echo @@check $1 $2"
	echo "$CHECK_SQL"
}

# ---- part 1: one session, warm-up round 0, then rounds 1..RUNS ----
# each timed statement follows a "\echo @@ label round" marker
{
	echo '\timing on'
	for r in $(seq 0 "$RUNS"); do
		for kind in gss spotgo; do
			if [ $kind = gss ]; then tbl=gss_orders; ins=$GSS_INSERT; else tbl=spotgo_orders; ins=$SPOTGO_INSERT; fi
			# without a trigger
			reset $tbl
			echo "\\echo @@ ${kind}_insert_plain $r"
			echo "$ins"
		done
		# GSS: trigger (timed), drain fresh; trigger again, ANALYZE, drain analyzed
		reset gss_orders "$GSS_TRIGGER"
		echo "$NO_STATS"
		echo "\\echo @@ gss_insert_trigger $r"
		echo "$GSS_INSERT"
		drain gss_drain_fresh $r
		reset gss_orders "$GSS_TRIGGER"
		echo "$GSS_INSERT"
		echo "$ANALYZE_OUTBOX"
		drain gss_drain $r
		# SpotGo, max_concurrency 8 then 16, the same way
		for c in 8 16; do
			reset spotgo_orders "$(spotgo_trigger spotgo$c)"
			echo "$NO_STATS"
			echo "\\echo @@ spotgo_insert_trigger$c $r"
			echo "$SPOTGO_INSERT"
			drain spotgo${c}_drain_fresh $r
			reset spotgo_orders "$(spotgo_trigger spotgo$c)"
			echo "$SPOTGO_INSERT"
			echo "$ANALYZE_OUTBOX"
			drain spotgo${c}_drain $r
		done
		# context: a PL/pgSQL trigger into a plain queue table
		reset gss_orders "$PLAIN_TRIGGER"
		echo "\\echo @@ gss_insert_plpgsql $r"
		echo "$GSS_INSERT"
		reset gss_orders "$STMT_OUTBOX_TRIGGER"
		echo "\\echo @@ gss_insert_stmt_outbox $r"
		echo "$GSS_INSERT"
		reset gss_orders "$STMT_KEYS_TRIGGER"
		echo "\\echo @@ gss_insert_stmt_keys $r"
		echo "$GSS_INSERT"
		reset gss_orders "$GSS_STMT_TRIGGER"
		echo "\\echo @@ gss_insert_stmt_trigger $r"
		echo "$GSS_INSERT"
		# context: the outbox rows alone (keys and payloads of the rows just
		# inserted, into a copy of the outbox)
		echo "TRUNCATE bench_payloads; INSERT INTO bench_payloads SELECT g.packingslipno, to_jsonb(g) FROM gss_orders g;"
		echo "TRUNCATE bench_outbox; CHECKPOINT;"
		echo "\\echo @@ gss_outbox_floor $r"
		echo "INSERT INTO bench_outbox (server, operation, object_key, payload, enqueued_by)
  SELECT 'gss', 'gss.upsert_order', b.k, b.p, current_user::regrole FROM bench_payloads b;"
		# UPDATE of every row: without the trigger, then with it while every
		# row's item is pending (each replaces its item)
		for kind in plain trigger; do
			if [ $kind = plain ]; then reset gss_orders; else reset gss_orders "$GSS_TRIGGER"; fi
			echo "$GSS_INSERT"
			echo "CHECKPOINT;"
			echo "\\echo @@ gss_update_$kind $r"
			echo "UPDATE gss_orders SET delvinstructions = 'Ring twice';"
		done
	done
} > "$WORK/part1.sql"
chmod a+r "$WORK/part1.sql"
log "part 1: $RUNS runs (+1 warm-up), $ORDERS orders, drain_outbox in one session"
bpsql -At -f "$WORK/part1.sql" > "$WORK/part1.out" 2>&1 ||
	{ tail -30 "$WORK/part1.out" >&2; die "part 1 failed"; }

# "@@ label round" then "Time: 12.3 ms" -> label<TAB>round<TAB>ms;
# "@@check label round" then the state counts -> check<TAB>label<TAB>round<TAB>states
awk '/^@@ / { label = $2; round = $3; armed = 1; next }
     /^@@check / { clabel = $2; cround = $3; carmed = 1; next }
     /^Time: / { if (armed) printf "%s\t%s\t%s\n", label, round, $2; armed = 0; next }
     { if (carmed) { printf "check\t%s\t%s\t%s\n", clabel, cround, $0; carmed = 0 } }' \
	"$WORK/part1.out" > "$WORK/timings.tsv"

# ---- part 2: the background worker ----
WORKER_TEXT=
if [ "$WORKER" = 1 ]; then
	log "part 2: restarting the cluster with shared_preload_libraries = 'spotgo_gss'"
	as_user "$PGBIN/pg_ctl" -D "$WORK/pgdata" -m fast -w stop >/dev/null
	cat >> "$WORK/pgdata/postgresql.conf" <<EOF
shared_preload_libraries = 'spotgo_gss'
spotgo_gss.database = 'postgres'
EOF
	as_user "$PGBIN/pg_ctl" -D "$WORK/pgdata" -l "$WORK/postgres.log" -w start >/dev/null ||
		{ tail -20 "$WORK/postgres.log" >&2; die "the cluster did not start with the worker"; }
	for i in $(seq 1 50); do
		n=$(bpsql -At -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'spotgo_gss outbox worker'")
		[ "$n" = 1 ] && break
		sleep 0.1
	done
	[ "$n" = 1 ] || die "the outbox worker did not start (see $WORK/postgres.log)"
	WORKER_TEXT=$(bpsql -At -c "SELECT 'spotgo_gss.drain_batch ' || current_setting('spotgo_gss.drain_batch') || ', spotgo_gss.worker_naptime ' || current_setting('spotgo_gss.worker_naptime')")
	# per round and kind: fresh (statistics deleted), then analyzed: ANALYZE
	# the outbox as the fresh run left it (all done, claimed_by NULL), and
	# TRUNCATE, which keeps the statistics
	{
		for r in $(seq 0 "$RUNS"); do
			for kind in gss spotgo8; do
				if [ $kind = gss ]; then
					tbl=gss_orders; trg=$GSS_TRIGGER; ins=$GSS_INSERT
				else
					tbl=spotgo_orders; trg=$(spotgo_trigger spotgo8); ins=$SPOTGO_INSERT
				fi
				for state in fresh analyzed; do
					label=worker_$kind
					if [ $state = fresh ]; then
						label=${label}_fresh
						reset $tbl "$trg"
						echo "$NO_STATS"
					else
						echo "$ANALYZE_OUTBOX"
						reset $tbl "$trg"
					fi
					echo "\\echo @@w $label $r"
					printf 'CALL bench_insert_wait(%s, %d);\n' "\$q\$$ins\$q\$" "$ORDERS"
					echo "\\echo @@check $label $r"
					echo "$CHECK_SQL"
				done
			done
		done
	} > "$WORK/part2.sql"
	chmod a+r "$WORK/part2.sql"
	log "part 2: $RUNS runs (+1 warm-up), COMMIT -> all done, the worker delivering"
	bpsql -At -F $'\t' -f "$WORK/part2.sql" > "$WORK/part2.out" 2>&1 ||
		{ tail -30 "$WORK/part2.out" >&2; die "part 2 failed"; }
	# "@@w label round" then "insert_ms<TAB>done_ms"
	awk -F'\t' '/^@@w / { split($0, a, " "); label = a[2]; round = a[3]; armed = 1; next }
	     /^@@check / { split($0, a, " "); clabel = a[2]; cround = a[3]; carmed = 1; next }
	     { if (armed && NF == 2) { printf "%s_insert\t%s\t%s\n%s\t%s\t%s\n", label, round, $1, label, round, $2; armed = 0 }
	       else if (carmed) { printf "check\t%s\t%s\t%s\n", clabel, cround, $0; carmed = 0 } }' \
		"$WORK/part2.out" >> "$WORK/timings.tsv"
fi

mkdir -p "$OUT_DIR"
"$PYTHON" - "$WORK/timings.tsv" "$WORK/stub.tsv" "$RUNS" "$ORDERS" "$BATCH" "$PGVER" \
	"$("$NGINX" -v 2>&1)" "$WORKER_TEXT" "$LOAD" <<'PY' | tee "$OUT_DIR/outbox_push.md"
import datetime, os, statistics, sys

timings, stub, runs, orders, batch, pg, nginx, worker_text, load = sys.argv[1:10]
runs, orders, batch = int(runs), int(orders), int(batch)
times, checks = {}, {}
for line in open(timings):
    p = line.rstrip("\n").split("\t")
    if p[0] == "check":
        checks.setdefault(p[1], {})[int(p[2])] = p[3] if len(p) > 3 else ""
    elif len(p) >= 3 and p[2]:
        if int(p[1]) > 0:          # round 0 is the warm-up
            times.setdefault(p[0], []).append(float(p[2]) / 1000.0)
cnt = {}
for line in open(stub):
    label, r, accepts, requests = line.rstrip("\n").split("\t")
    cnt[(label, int(r))] = (int(accepts), int(requests))

def traffic(key):
    # requests and new connections between the two stub reads, minus the
    # second read itself; every round, as "requests/connections"
    out = []
    for r in range(0, runs + 1):
        b, a = cnt.get((key + "_before", r)), cnt.get((key + "_after", r))
        if b and a:
            out.append((a[1] - b[1] - 1, a[0] - b[0] - 1))
    return out

cpu = "unknown CPU"
try:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
except OSError:
    pass

n = "{:,}".format(orders)
labels = [
    ("gss_insert_plain", "GSS table: `INSERT .. SELECT generate_series`, %s rows, no trigger" % n, None),
    ("gss_insert_trigger", "GSS table: the same INSERT with the `push_gss_order()` trigger (default payload `to_jsonb(NEW)`)", None),
    ("gss_insert_stmt_trigger", "GSS table: the same INSERT with `push_gss_order()` as a statement-level trigger (`REFERENCING NEW TABLE`, one outbox INSERT per statement)", None),
    ("gss_insert_plpgsql", "context: the same INSERT with a PL/pgSQL trigger inserting `to_jsonb(NEW)` into a plain queue table", None),
    ("gss_insert_stmt_outbox", "context: the same INSERT with one statement-level PL/pgSQL trigger (transition table) doing one `INSERT .. SELECT to_jsonb(n) .. ON CONFLICT` into a copy of the outbox (same CHECKs and indexes)", None),
    ("gss_insert_stmt_keys", "context: the same INSERT with one statement-level trigger copying only the keys into an unlogged table without indexes", None),
    ("gss_outbox_floor", "context: the outbox rows alone, no trigger: one `INSERT .. SELECT` of the same %s keys and payloads (prepared beforehand) into a copy of the outbox (same defaults, CHECKs and indexes), no conflict handling" % n, None),
    ("gss_update_plain", "GSS table: `UPDATE` of all %s rows (one column), no trigger" % n, None),
    ("gss_update_trigger", "GSS table: the same UPDATE with the row trigger while every row's item is still pending: each change replaces its pending item", None),
    ("spotgo_insert_plain", "SpotGo table: `INSERT .. SELECT generate_series`, %s rows, no trigger" % n, None),
    ("spotgo_insert_trigger8", "SpotGo table: the same INSERT with `push_spotgo_order('bench_spotgo_payload(spotgo_orders)')` (SQL mapping function)", None),
    ("gss_drain_fresh", "GSS: `CALL spotgo_gss.drain_outbox(100000)` until all done, `batch_size` %d (one PUT per %d orders); outbox without statistics" % (batch, batch), 10000),
    ("gss_drain", "GSS: the same; outbox analyzed", 10000),
    ("spotgo8_drain_fresh", "SpotGo: `CALL spotgo_gss.drain_outbox(100000)` until all done, `max_concurrency` 8 (one POST per order); outbox without statistics", 3000),
    ("spotgo8_drain", "SpotGo: the same, `max_concurrency` 8; outbox analyzed", 3000),
    ("spotgo16_drain_fresh", "SpotGo: the same, `max_concurrency` 16; outbox without statistics", 3000),
    ("spotgo16_drain", "SpotGo: the same, `max_concurrency` 16; outbox analyzed", 3000),
    ("worker_gss_fresh", "worker, GSS: from the COMMIT of the INSERT until all done (poll every 20 ms); outbox without statistics", 10000),
    ("worker_gss", "worker, GSS: the same; outbox analyzed", 10000),
    ("worker_spotgo8_fresh", "worker, SpotGo (`max_concurrency` 8): from the COMMIT of the INSERT until all done; outbox without statistics", 3000),
    ("worker_spotgo8", "worker, SpotGo: the same; outbox analyzed", 3000),
]
med = {k: statistics.median(v) for k, v in times.items()}
out = []
out.append("## Outbox push: %s orders, trigger -> outbox -> nginx on loopback" % n)
out.append("")
out.append("%s; %d cores (%s); %s; %s; no CPU pinning; load average before the run %s; median of %d runs" % (
    datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), os.cpu_count() or 0, cpu, pg, nginx, load, runs))
out.append("")
out.append("| line | median | min | max | orders/s | target |")
out.append("| --- | ---: | ---: | ---: | ---: | --- |")
for key, text, target in labels:
    if key not in times:
        continue
    v = times[key]
    m = med[key]
    tgt = ""
    if target:
        tgt = "≥ %s/s: %s" % ("{:,}".format(target), "met" if orders / m >= target else "**NOT met**")
    out.append("| %s | %.3f s | %.3f s | %.3f s | %s | %s |" % (
        text, m, min(v), max(v), "{:,.0f}".format(orders / m), tgt))
out.append("")
# targets of issue 10: a row-level trigger at most 3x a plain INSERT of the
# same rows, the statement-level form at most 2x
for kind, plain, trig, limit in (("GSS, row-level trigger", "gss_insert_plain", "gss_insert_trigger", 3.0),
                                 ("GSS, statement-level trigger", "gss_insert_plain", "gss_insert_stmt_trigger", 2.0),
                                 ("SpotGo, row-level trigger with an SQL mapping function", "spotgo_insert_plain",
                                  "spotgo_insert_trigger8", 3.0)):
    if plain in med and trig in med:
        r = med[trig] / med[plain]
        out.append("Trigger overhead, %s: INSERT with the trigger / without = **%.2fx** (target at most %.0fx): %s; "
                   "%.1f µs per row more." % (kind, r, limit, "met" if r <= limit else "NOT met",
                                            (med[trig] - med[plain]) * 1e6 / orders))
if "gss_update_plain" in med and "gss_update_trigger" in med:
    out.append("Coalescing, GSS: UPDATE with the row trigger, every item pending / without = %.2fx; %.1f µs per row more." % (
        med["gss_update_trigger"] / med["gss_update_plain"],
        (med["gss_update_trigger"] - med["gss_update_plain"]) * 1e6 / orders))
ctx = [(k, t) for k, t in (("gss_insert_plpgsql", "row-level PL/pgSQL into a plain table"),
                            ("gss_insert_stmt_outbox", "statement-level into a copy of the outbox"),
                            ("gss_insert_stmt_keys", "statement-level, keys only"),
                            ("gss_outbox_floor", "the outbox rows alone, no trigger"))
       if k in med and "gss_insert_plain" in med]
if ctx:
    out.append("Context, time / the plain INSERT's: " + "; ".join(
        "%s %.2fx" % (t, med[k] / med["gss_insert_plain"]) for k, t in ctx) + ".")
for key, name in (("worker_gss_fresh", "GSS, no statistics"), ("worker_gss", "GSS, analyzed"),
                  ("worker_spotgo8_fresh", "SpotGo, no statistics"), ("worker_spotgo8", "SpotGo, analyzed")):
    if key + "_insert" in med and key in med:
        out.append("Worker, %s: the INSERT with its COMMIT took %.3f s (median) before the timed wait; "
                   "INSERT + delivery %.3f s, %s orders/s end to end." % (
                       name, med[key + "_insert"], med[key + "_insert"] + med[key],
                       "{:,.0f}".format(orders / (med[key + "_insert"] + med[key]))))
if worker_text:
    out.append("Worker settings: %s (defaults); the 20 ms poll adds up to 20 ms to each worker figure." % worker_text)
out.append("Outbox statistics: \"without statistics\" = none (pg_statistic rows deleted: a new installation "
           "before autovacuum's first ANALYZE); \"analyzed\" = ANALYZE of an outbox whose rows all have claimed_by NULL, "
           "as autovacuum leaves it. Autovacuum is off on the outbox during the benchmark.")
out.append("")
out.append("Checks, every round including the warm-up: outbox states after the drain; requests and new "
           "connections nginx counted during the drain (stub_status).")
out.append("")
out.append("| line | outbox states after | requests / new connections |")
out.append("| --- | --- | --- |")
bad = False
for key, _, target in labels:
    if not target or key not in checks:
        continue
    states = sorted(set(checks[key].values()))
    if states != ["done=%d" % orders]:
        bad = True
    tr = traffic(key)
    out.append("| %s | %s | %s |" % (key, ", ".join(states),
               ", ".join(sorted(set("%d / %d" % t for t in tr))) if tr else ""))
if bad:
    out.append("")
    out.append("**Some items were not delivered: the figures above do not count.**")
print("\n".join(out))
PY
