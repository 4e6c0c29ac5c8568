--
-- sync: scheduled syncs into local tables; what runs send, what they
-- change, failures, full refreshes, and the advisory lock.
--
SELECT sb.reset();
ALTER SERVER gss OPTIONS (ADD page_size '50');
-- 180 orders created over the last hours, every tenth one still open
SELECT sb.call('gss/orders', jsonb_build_object('orders', (SELECT jsonb_agg(jsonb_build_object(
  'packingslipno', format('SY%s', lpad(i::text, 5, '0')), 'consignee', 'Consignee ' || i, 'city', 'Napier',
  '_created', to_char(now() AT TIME ZONE 'UTC' - interval '5 hours' + i * interval '1 minute', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
  'products', '[{"productcode": "P1", "units": 1}]'::jsonb,
  'status', CASE WHEN i % 10 <> 0 THEN '{"Status": "DELIVERED", "ticketnumber": "TK", "Picked": "2026-08-01T10:00:00", "Delivered": "2026-08-02T12:30:00"}'::jsonb END))
  FROM generate_series(1, 180) i))) IS NOT NULL AS seeded;

-- first run: no watermark, so everything, plus the open orders
SELECT sb.clear_journal();
SELECT spotgo_gss.sync_gss_orders() AS changed;
SELECT count(*) AS rows, count(*) FILTER (WHERE open) AS open, count(*) FILTER (WHERE status = 'DELIVERED') AS delivered,
       count(*) FILTER (WHERE products IS NOT NULL) AS with_products
FROM spotgo_gss.gss_orders_local;
SELECT j -> 'args' ->> 'page' AS page, j -> 'args' ? 'createdfrom' AS since, j -> 'args' ->> 'excludecompleted' AS open_only
FROM sb.journal() j ORDER BY (j ->> 'seq')::int;
SELECT server, resource, watermark IS NOT NULL AS has_watermark, rows_changed, last_error, ok, local_rows
FROM spotgo_gss.sync_status;

-- nothing changed remotely: nothing changes locally, and only the incremental requests go out
SELECT sb.clear_journal();
SELECT md5(string_agg(ctid::text || '/' || xmin::text, ',' ORDER BY packingslipno)) AS tuples_before
FROM spotgo_gss.gss_orders_local \gset
SELECT watermark AS first_mark FROM spotgo_gss.sync_state WHERE resource = 'gss_orders' \gset
SELECT spotgo_gss.sync_gss_orders() AS changed;
-- same physical tuples, same inserting transactions: no row was rewritten
SELECT md5(string_agg(ctid::text || '/' || xmin::text, ',' ORDER BY packingslipno)) = :'tuples_before' AS untouched
FROM spotgo_gss.gss_orders_local;
SELECT j -> 'args' ->> 'page' AS page, j -> 'args' ? 'createdfrom' AS since, j -> 'args' ->> 'excludecompleted' AS open_only
FROM sb.journal() j ORDER BY (j ->> 'seq')::int;
-- the listing since the watermark starts spotgo_gss.sync_overlap earlier
SELECT (SELECT (j -> 'args' ->> 'createdfrom')::timestamptz FROM sb.journal() j WHERE j -> 'args' ? 'createdfrom' LIMIT 1)
       = date_trunc('second', :'first_mark'::timestamptz - interval '1 hour') AS overlap_of_one_hour;

-- a remote status change: an open order is picked, so it leaves the open listing
SELECT sb.call('gss/process', '{"packingslipno": "SY00010", "status": {"Status": "PICKED", "ticketnumber": "TK-10", "Picked": "2026-09-01T08:00:00"}}') IS NOT NULL AS picked;
SELECT sb.clear_journal();
SELECT spotgo_gss.sync_gss_orders() AS changed;
SELECT packingslipno, status, ticketnumber, picked, open, deleted_at IS NULL AS present
FROM spotgo_gss.gss_orders_local WHERE packingslipno = 'SY00010';
-- it was looked up by number
SELECT j -> 'args' ->> 'packingslipno' AS looked_up FROM sb.journal() j WHERE j -> 'args' ? 'packingslipno';

-- a late row: created 30 minutes before the watermark, listed only now; the overlap catches it
SELECT sb.call('gss/orders', jsonb_build_object('orders', jsonb_build_array(jsonb_build_object(
  'packingslipno', 'LATE1', 'consignee', 'Late Ltd',
  '_created', to_char((SELECT watermark FROM spotgo_gss.sync_state WHERE resource = 'gss_orders') AT TIME ZONE 'UTC' - interval '30 minutes',
                      'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
  'status', '{"Status": "PICKED"}'::jsonb)))) IS NOT NULL AS seeded;
SELECT spotgo_gss.sync_gss_orders() AS changed;
SELECT packingslipno, consignee, status, open FROM spotgo_gss.gss_orders_local WHERE packingslipno = 'LATE1';

-- an open order that vanished remotely is kept, marked deleted
SELECT sb.call('gss/process', '{"packingslipno": "SY00020", "remove": true}') IS NOT NULL AS removed;
SELECT spotgo_gss.sync_gss_orders() AS changed;
SELECT packingslipno, open, deleted_at IS NOT NULL AS deleted FROM spotgo_gss.gss_orders_local WHERE packingslipno = 'SY00020';

-- an open order whose number has a comma cannot go in the list filter: it is asked for by the status path
SELECT sb.call('gss/orders', jsonb_build_object('orders', jsonb_build_array(jsonb_build_object(
  'packingslipno', 'CM,1', 'consignee', 'Comma Ltd',
  '_created', to_char(now() AT TIME ZONE 'UTC' - interval '3 hours', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))))) IS NOT NULL AS seeded;
SELECT spotgo_gss.sync_gss_orders() AS changed;
SELECT sb.call('gss/process', '{"packingslipno": "CM,1", "status": {"Status": "PICKED", "ticketnumber": "TK-C"}}') IS NOT NULL AS picked;
SELECT sb.clear_journal();
SELECT spotgo_gss.sync_gss_orders() AS changed;
SELECT packingslipno, status, ticketnumber, open FROM spotgo_gss.gss_orders_local WHERE packingslipno = 'CM,1';
SELECT j ->> 'path' AS path FROM sb.journal() j WHERE j ->> 'path' LIKE '/v2/order/%';

-- failure on page 3: nothing of the run stays, the watermark does not move, the error is recorded
SELECT watermark AS mark_before FROM spotgo_gss.sync_state WHERE resource = 'gss_orders' \gset
SELECT sb.call('gss/process', '{"packingslipno": "SY00030", "status": {"Status": "PICKED"}}') IS NOT NULL AS picked;
SELECT sb.fault('{"path": "/api/customerorders", "query_contains": "page=3", "status": 500, "body": "{\"Message\": \"An error has occurred.\"}", "times": -1}');
SELECT spotgo_gss.sync_gss_orders(full_refresh => true) AS changed;
SELECT watermark = :'mark_before'::timestamptz AS watermark_kept, ok, last_error, rows_changed IS NOT NULL AS kept_last_count
FROM spotgo_gss.sync_status WHERE resource = 'gss_orders';
SELECT status, open FROM spotgo_gss.gss_orders_local WHERE packingslipno = 'SY00030';
SELECT sb.call('fault/clear', '{}') IS NOT NULL AS cleared;

-- the next successful run clears the error; a full refresh marks what is gone and revives what is back
SELECT sb.call('gss/orders', '{"orders": [{"packingslipno": "SY00020", "consignee": "Back again"}]}') IS NOT NULL AS back;
SELECT sb.call('gss/process', '{"packingslipno": "SY00050", "remove": true}') IS NOT NULL AS removed;
SELECT spotgo_gss.sync_gss_orders(full_refresh => true) > 0 AS changed_some;
SELECT packingslipno, consignee, deleted_at IS NOT NULL AS deleted FROM spotgo_gss.gss_orders_local
WHERE packingslipno IN ('SY00020', 'SY00050', 'SY00030') ORDER BY 1;
SELECT status FROM spotgo_gss.gss_orders_local WHERE packingslipno = 'SY00030';
SELECT ok, last_error, watermark > :'mark_before'::timestamptz AS watermark_moved, local_rows
FROM spotgo_gss.sync_status WHERE resource = 'gss_orders';

-- a second run of the same server while one holds the lock returns NULL at once
CREATE EXTENSION IF NOT EXISTS dblink;
SELECT dblink_connect('other', 'dbname=' || current_database());
BEGIN;
SELECT pg_advisory_xact_lock(hashtextextended('spotgo_gss:gss:gss_orders', 0));
SELECT * FROM dblink('other', 'SELECT spotgo_gss.sync_gss_orders()') AS t(changed bigint);
COMMIT;
SELECT dblink_disconnect('other');
DROP EXTENSION dblink;
ALTER SERVER gss OPTIONS (DROP page_size);

-- SpotGo: every page each run; unchanged rows are left alone; a full refresh marks missing ones
SELECT sb.call('spotgo/orders', '{"generate": {"count": 120, "prefix": "SGS-"}}') IS NOT NULL AS seeded;
ALTER SERVER spotgo OPTIONS (ADD page_size '50');
SELECT spotgo_gss.sync_spotgo_orders() AS changed;
SELECT spotgo_gss.sync_spotgo_orders() AS changed;
SELECT order_id AS gone_id FROM spotgo_gss.spotgo_orders_local WHERE order_number = 'SGS-00007' \gset
SELECT spotgo_gss.spotgo_delete_order(:'gone_id') AS deleted_remotely;
SELECT spotgo_gss.spotgo_upsert_order('{"orderNumber": "SGS-00008", "internalComments": "changed"}') ->> 'updated' AS updated_remotely;
SELECT spotgo_gss.sync_spotgo_orders() AS changed;
SELECT spotgo_gss.sync_spotgo_orders(full_refresh => true) AS changed;
SELECT order_number, internal_comments, deleted_at IS NOT NULL AS deleted FROM spotgo_gss.spotgo_orders_local
WHERE order_number IN ('SGS-00007', 'SGS-00008') ORDER BY 1;
-- sync_filter narrows what the server's syncs read
ALTER SERVER spotgo OPTIONS (ADD sync_filter '{"orderNumber": "SGS-0001"}');
SELECT sb.clear_journal();
SELECT spotgo_gss.sync_spotgo_orders() AS changed;
SELECT j -> 'json' ->> 'orderNumber' AS filter FROM sb.journal() j LIMIT 1;
ALTER SERVER spotgo OPTIONS (DROP sync_filter, DROP page_size);
SELECT server, resource, ok, rows_changed, local_rows FROM spotgo_gss.sync_status ORDER BY 1, 2;

TRUNCATE spotgo_gss.gss_orders_local, spotgo_gss.spotgo_orders_local, spotgo_gss.sync_state;
