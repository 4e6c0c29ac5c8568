#!/usr/bin/env bash
# bench/memory_failures.sh: does a backend's memory stay flat across failing
# calls?  One backend per scenario runs CALLS failing calls (default 5,000),
# each caught in its own PL/pgSQL EXCEPTION block, and VmRSS is read from
# /proc/self/status after the first tenth and after the last call.
#
#   bash bench/memory_failures.sh [--calls N]
#
# Scenarios (all servers: max_retries '0', requests_per_minute '0'):
#   refused      gss_order_status() against a loopback port nothing listens on
#   http 500     gss_order_status() against nginx answering 500 to everything
#   bad JSON     gss_order_status() against nginx answering 200 with cut JSON
#   bad listing  gss_customer_orders() against nginx answering 200 with a page
#                cut in the middle of Results (two whole orders, then a cut)
#   control      1/0 in the same loop, no extension: the harness's own growth
# Target: growth under 1 MB between the two samples.  Output on stdout and in
# bench/out/memory_failures.md.  See bench/README.md.

CALLS=5000
while [ $# -gt 0 ]; do
	case "$1" in
	--calls) CALLS=$2; shift 2 ;;
	--calls=*) CALLS=${1#--calls=}; shift ;;
	-h | --help) sed -n '2,18p' "$0"; exit 0 ;;
	*) echo "usage: $0 [--calls N]" >&2; exit 2 ;;
	esac
done
case "$CALLS" in '' | *[!0-9]* | ? ) echo "--calls needs an integer >= 10" >&2; exit 2 ;; esac
FIRST=$((CALLS / 10))

. "$(dirname "$0")/lib.sh"

bench_init
ensure_nginx

PORT_REFUSED=$(free_port)
PORT_500=$(free_port)
PORT_BAD=$(free_port)

start_nginx "
    server {
        listen 127.0.0.1:$PORT_500;
        location / { return 500 '{\"Message\":\"An error has occurred.\"}'; }
    }
    server {
        listen 127.0.0.1:$PORT_BAD;
        location = /api/customerorders {
            return 200 '{\"Page\":1,\"PageSize\":100,\"Pages\":3,\"Results\":[{\"packingslipno\":\"A1\",\"consignee\":\"Ann\",\"status\":null},{\"packingslipno\":\"A2\",\"consignee\":\"Bob\",\"status\":{\"Status\":\"PICKED\"}},{\"packingslipno\":\"A3\",\"consig';
        }
        location / { return 200 '{\"packingslipno\":\"X1\",\"consignee\":\"Ann\",\"status\":\"PICK'; }
    }"
wait_http "http://127.0.0.1:$PORT_BAD/v2/order/X"
# the refused port: nothing may listen there
if curl -s -o /dev/null "http://127.0.0.1:$PORT_REFUSED/"; then
	die "port $PORT_REFUSED unexpectedly answers"
fi

start_cluster
ensure_extension || die "the extension does not build (see above)"

bpsql >"$WORK/setup.log" 2>&1 <<EOF || { cat "$WORK/setup.log" >&2; die "setup failed"; }
CREATE EXTENSION spotgo_gss;
CREATE SERVER gss_refused FOREIGN DATA WRAPPER spotgo_gss
  OPTIONS (api 'gss', base_url 'http://127.0.0.1:$PORT_REFUSED', site_id '1',
           max_retries '0', requests_per_minute '0');
CREATE SERVER gss_500 FOREIGN DATA WRAPPER spotgo_gss
  OPTIONS (api 'gss', base_url 'http://127.0.0.1:$PORT_500', site_id '1',
           max_retries '0', requests_per_minute '0');
CREATE SERVER gss_badjson FOREIGN DATA WRAPPER spotgo_gss
  OPTIONS (api 'gss', base_url 'http://127.0.0.1:$PORT_BAD', site_id '1',
           max_retries '0', requests_per_minute '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER gss_refused OPTIONS (access_key 'x');
CREATE USER MAPPING FOR CURRENT_USER SERVER gss_500 OPTIONS (access_key 'x');
CREATE USER MAPPING FOR CURRENT_USER SERVER gss_badjson OPTIONS (access_key 'x');

-- calls failing calls of one kind, each in its own EXCEPTION block; returns
-- "failures<TAB>SQLSTATE message" of the last error
CREATE FUNCTION bench_fail(calls int, kind text) RETURNS text
LANGUAGE plpgsql AS \$\$
DECLARE
  failed int := 0;
  state text;
  msg text;
BEGIN
  FOR i IN 1..calls LOOP
    BEGIN
      CASE kind
        WHEN 'control' THEN PERFORM 1 / (i - i);
        WHEN 'listing' THEN PERFORM count(*) FROM spotgo_gss.gss_customer_orders(server => 'gss_badjson');
        ELSE PERFORM spotgo_gss.gss_order_status('X' || i, server => kind);
      END CASE;
    EXCEPTION WHEN OTHERS THEN
      failed := failed + 1;
      GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    END;
  END LOOP;
  RETURN failed || E'\t' || coalesce(state || ' ' || msg, 'none');
END
\$\$;
EOF

: > "$WORK/memory.tsv"
for spec in "refused|gss_refused" "http 500|gss_500" "bad JSON|gss_badjson" \
	"bad listing|listing" "control: 1/0, no extension|control"; do
	name=${spec%%|*}
	kind=${spec#*|}
	log "$name: $CALLS failing calls in one backend"
	out=$(bpsql -At -F ' ' \
		-c "SELECT bench_fail($FIRST, '$kind')" -c "$SQL_PROC_STATUS" \
		-c "SELECT bench_fail($((CALLS - FIRST)), '$kind')" -c "$SQL_PROC_STATUS")
	# lines: "n<TAB>err", "hwm rss", "n<TAB>err", "hwm rss"
	f1=$(echo "$out" | sed -n 1p | cut -f1)
	f2=$(echo "$out" | sed -n 3p | cut -f1)
	err=$(echo "$out" | sed -n 3p | cut -f2- | tr '|' '/' | cut -c1-80)
	r1=$(echo "$out" | sed -n 2p | cut -d' ' -f2)
	r2=$(echo "$out" | sed -n 4p | cut -d' ' -f2)
	printf '%s\t%s of %s\t%s\t%s\t%s\n' "$name" "$((f1 + f2))" "$CALLS" "$err" "$r1" "$r2" \
		>> "$WORK/memory.tsv"
done

mkdir -p "$OUT_DIR"
"$PYTHON" "$BENCH_DIR/summarize.py" failures --memory "$WORK/memory.tsv" \
	--calls "$CALLS" --first "$FIRST" --pg "$("$PGBIN/postgres" --version)" |
	tee "$OUT_DIR/memory_failures.md"
