-- test/demo.sql: a tour of spotgo_gss against the sandbox API.
--
-- Run by scripts/demo, in a cluster that preloads spotgo_gss with
-- spotgo_gss.database = 'postgres' (the outbox worker serves this database):
--   psql -X -v ON_ERROR_STOP=1 -v sandbox_url=http://127.0.0.1:PORT -f test/demo.sql
-- with SANDBOX_CTL (the sandbox's control client) in the environment.
-- Against the real APIs, drop base_url (or give the real one), use real keys,
-- and leave SANDBOX_CTL unset: the steps that drive the sandbox are skipped.
--
-- Four parts, one per use of the extension: direct calls (1-14), push from a
-- trigger through the outbox (15-16), scheduled sync into local tables
-- (17-18), BI queries over foreign tables (19).

\set QUIET on
\pset null '(null)'
\getenv sandbox_ctl SANDBOX_CTL

-- step 19: IMPORT FOREIGN SCHEMA, a dashboard query and its EXPLAIN (false
-- skips it)
\set demo_foreign_tables true

\echo
\echo '######## Part 1 of 4: the two APIs as SQL functions'
\echo

\echo '== 1. Install the extension (schema spotgo_gss)'
CREATE EXTENSION spotgo_gss;
\dx spotgo_gss

\echo '== 2. One foreign server per API, the secrets in user mappings'
\echo '   Notice: the keys are not in the server options; only a role''s own mapping holds them.'
CREATE SERVER gss FOREIGN DATA WRAPPER spotgo_gss
    OPTIONS (api 'gss', base_url :'sandbox_url', site_id '1234',
             support_email 'ops@example.com');
CREATE USER MAPPING FOR CURRENT_USER SERVER gss
    OPTIONS (access_key 'gss-test-key');

CREATE SERVER spotgo FOREIGN DATA WRAPPER spotgo_gss
    OPTIONS (api 'spotgo', base_url :'sandbox_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER spotgo
    OPTIONS (api_key 'spotgo-test-key');

SELECT srvname AS server, array_to_string(srvoptions, ', ') AS options
  FROM pg_foreign_server
 ORDER BY 1;

\echo '== 3. GoSweetSpot: publish three orders (PUT /api/customerorders)'
\echo '   Notice: one row per order, in input order; "DEMO-1003#B" is percent-encoded wherever it goes into a URL.'
SELECT packingslipno, accepted, message
  FROM spotgo_gss.gss_upsert_orders('[
    {"packingslipno": "DEMO-1001", "consignee": "Kiwi Outdoor Ltd",
     "address1": "12 Queen Street", "suburb": "Auckland Central", "city": "Auckland",
     "postcode": "1010", "country": "NZ", "contactname": "Aroha Smith",
     "contactphone": "+64 9 555 0101", "email": "aroha@example.com",
     "products": [{"productcode": "TENT-2P", "description": "Two-person tent",
                   "units": 1, "unitvalue": 249.00, "unitkg": 2.4}]},
    {"packingslipno": "DEMO-1002", "consignee": "Harbour Cafe",
     "address1": "3 Lambton Quay", "city": "Wellington", "postcode": "6011",
     "country": "NZ", "delvinstructions": "Leave at the back door"},
    {"packingslipno": "DEMO-1003#B", "consignee": "Southern Farms",
     "address1": "88 Rural Road", "city": "Gore", "postcode": "9710", "country": "NZ",
     "isrural": true}
  ]'::jsonb);

\echo '== 4. List every order, page by page (GET /api/customerorders)'
\echo '   Notice: typed columns; every page is fetched before the first row comes back.'
SELECT packingslipno, consignee, city, status
  FROM spotgo_gss.gss_customer_orders()
 ORDER BY 1;

\echo '== 5. GSS processes one order (the sandbox plays GSS: DEMO-1002 is picked)'
\if :{?sandbox_ctl}
\! python3 "$SANDBOX_CTL" gss/process --json '{"packingslipno": "DEMO-1002", "status": {"Status": "PICKED", "ticketnumber": "GSS000123", "trackingurl": "https://track.example/GSS000123", "Picked": "2026-11-25T10:15:00"}}' >/dev/null
\else
\echo '   (skipped: SANDBOX_CTL is not set)'
\endif

\echo '== 6. Order status, one call per order (GET /v2/order/{packingslipno})'
\echo '   Notice: "DEMO-1003#B" travels as DEMO-1003%23B; GSS dates are timestamp without time zone, as GSS sends them.'
SELECT s.packingslipno, s.status, s.ticketnumber, s.trackingurl, s.picked
  FROM unnest(ARRAY['DEMO-1002', 'DEMO-1003#B']) AS n,
       spotgo_gss.gss_order_status(n) AS s
 ORDER BY 1;

\echo '   An unknown packing-slip number gives NULL, not an error:'
SELECT spotgo_gss.gss_order_status('NO-SUCH-ORDER') IS NULL AS unknown_is_null;

\echo '== 7. Orders published but not yet processed (GET /v2/pendingorders)'
SELECT packingslipno, consignee, city
  FROM spotgo_gss.gss_pending_orders()
 ORDER BY 1;

\echo '== 8. Delete three orders (DELETE /api/customerorders?packingslipno=...)'
\echo '   Notice: GSS refuses to delete an order it has already processed; the outcome is in GSS''s words.'
SELECT packingslipno, deleted, outcome
  FROM spotgo_gss.gss_delete_orders(ARRAY['DEMO-1001', 'DEMO-1002', 'DEMO-1003#B'])
 ORDER BY 1;

\echo '== 9. The list again'
SELECT packingslipno, consignee, city, status
  FROM spotgo_gss.gss_customer_orders()
 ORDER BY 1;

-- ---------------------------------------------------------------------------
\echo '== 10. SpotGo: create or update an order by its number (POST /api/v1/orders/upsert)'
SELECT r->>'created' AS created, r->>'updated' AS updated, r->>'linkChanged' AS link_changed,
       r->'order'->>'orderNumber' AS order_number
  FROM spotgo_gss.spotgo_upsert_order('{
         "orderNumber": "SG-DEMO-1",
         "carrier": {"name": "Vistula Cargo S.A.", "email": "dispatch@example.com",
                     "vatCode": "PL7010002137"},
         "requiredDocumentTypes": ["cmr"],
         "locations": [
           {"sequence": 1, "type": "Loading", "countryCode": "DE", "city": "Hamburg",
            "startDate": "2026-08-24T08:00:00Z", "endDate": "2026-08-24T12:00:00Z"},
           {"sequence": 2, "type": "Unloading", "countryCode": "PL", "city": "Warsaw",
            "startDate": "2026-08-25T08:00:00Z", "endDate": "2026-08-25T16:00:00Z"}]
       }'::jsonb) AS r;

\echo '== 11. SpotGo: the same order number again updates it'
\echo '   Notice: an upsert is keyed by orderNumber, so sending it twice is harmless (the outbox relies on that).'
SELECT r->>'created' AS created, r->>'updated' AS updated
  FROM spotgo_gss.spotgo_upsert_order('{"orderNumber": "SG-DEMO-1",
         "carrier": {"name": "Vistula Cargo S.A.", "vatCode": "PL7010002137"},
         "internalComments": "call before arrival"}'::jsonb) AS r;

\echo '== 12. SpotGo: query orders, every page (POST /api/v1/orders/query)'
SELECT order_number, status, carrier_name, internal_comments, share_url IS NOT NULL AS shared
  FROM spotgo_gss.spotgo_query_orders('{"orderNumber": "SG-DEMO"}'::jsonb)
 ORDER BY 1;

\echo '== 13. SpotGo: upload a document to the order, then read it back'
\echo '   Notice: bytea in, bytea out, with the content type and the file name SpotGo answers.'
SELECT q.order_id AS demo_order_id
  FROM spotgo_gss.spotgo_query_orders('{"orderNumber": "SG-DEMO-1"}'::jsonb) AS q \gset
SELECT d->>'name' AS name, d->>'documentType' AS document_type, d->>'status' AS status,
       d->>'documentId' AS demo_document_id
  FROM spotgo_gss.spotgo_upload_document(:'demo_order_id',
         convert_to('%PDF-1.4 demo CMR', 'UTF8'), 'cmr-SG-DEMO-1.pdf', 'cmr') AS d \gset
SELECT :'name' AS name, :'document_type' AS document_type, :'status' AS status;
SELECT content_type, filename, convert_from(content, 'UTF8') AS content
  FROM spotgo_gss.spotgo_document(:'demo_order_id', :'demo_document_id');

\echo '== 14. SpotGo: accept the document, look at the order, delete it'
SELECT s->>'status' AS document_status
  FROM spotgo_gss.spotgo_set_document_status(:'demo_order_id', :'demo_document_id', 'Accepted') AS s;
SELECT o->>'orderNumber' AS order_number, jsonb_array_length(o->'documents') AS documents
  FROM spotgo_gss.spotgo_get_order(:'demo_order_id') AS o;
SELECT spotgo_gss.spotgo_delete_order(:'demo_order_id') AS deleted;

-- ---------------------------------------------------------------------------
\echo
\echo '######## Part 2 of 4: push from a trigger, through the outbox'
\echo

-- what the sandbox received since the last journal/clear, one row per request
CREATE TEMP TABLE sandbox_journal (j jsonb);
CREATE TEMP VIEW sandbox_requests AS
  SELECT e->>'method' AS method,
         (e->>'path') || coalesce('?' || nullif(e->>'query', ''), '') AS request,
         (SELECT string_agg(o->>'packingslipno' || ' (' || (o->>'city') || ')', ', ')
            FROM jsonb_array_elements(CASE jsonb_typeof(e->'json') WHEN 'array' THEN e->'json'
                                      ELSE '[]' END) AS o) AS orders_sent,
         (e->>'status')::int AS http_status
    FROM sandbox_journal, jsonb_array_elements(j->'entries') AS e
   ORDER BY (e->>'seq')::int;

-- wait (30 s at most) until the worker has delivered every pending item
CREATE PROCEDURE wait_for_delivery()
LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1 .. 300 LOOP
    IF NOT EXISTS (SELECT 1 FROM spotgo_gss.outbox WHERE state = 'pending') THEN
      RETURN;
    END IF;
    PERFORM pg_sleep(0.1);
  END LOOP;
  RAISE EXCEPTION 'the outbox worker delivered nothing within 30 s'
    USING HINT = 'Is spotgo_gss in shared_preload_libraries, with spotgo_gss.database set to this database? See the server log.';
END $$;

\echo '== 15. A shop table whose changes go to GSS: a row trigger queues them'
\echo '   Notice: the cluster preloads spotgo_gss, so a launcher and an outbox worker for this database are running.'
SELECT backend_type, coalesce(datname, '(none)') AS database
  FROM pg_stat_activity
 WHERE backend_type LIKE 'spotgo_gss%'
 ORDER BY 1;

CREATE TABLE shop_orders (
  packingslipno text PRIMARY KEY,
  consignee     text NOT NULL,
  city          text NOT NULL,
  country       text NOT NULL DEFAULT 'NZ'
);
-- no mapping function: the row as jsonb is the payload (columns named like GSS's fields)
CREATE TRIGGER shop_orders_push AFTER INSERT OR UPDATE OR DELETE ON shop_orders
  FOR EACH ROW EXECUTE FUNCTION spotgo_gss.push_gss_order();
\if :{?sandbox_ctl}
\! python3 "$SANDBOX_CTL" --json '{}' journal/clear >/dev/null
\endif

BEGIN;
INSERT INTO shop_orders (packingslipno, consignee, city) VALUES
  ('SHOP-1', 'Tui Books', 'Nelson'),
  ('SHOP-2', 'Kea Cycles', 'Queenstown'),
  ('SHOP-3', 'Weka Wool', 'Gore');
\echo '   outbox_status inside the transaction, before COMMIT:'
\echo '   Notice: three pending items, written in this transaction; nothing has been sent, the trigger never calls the API.'
SELECT server, state, items FROM spotgo_gss.outbox_status ORDER BY 1, 2;
COMMIT;
CALL wait_for_delivery();

\echo '   outbox_status after COMMIT:'
\echo '   Notice: the commit woke the worker, which delivered the three orders in one PUT.'
SELECT server, state, items FROM spotgo_gss.outbox_status ORDER BY 1, 2;
\if :{?sandbox_ctl}
\echo '   What the sandbox received:'
\copy sandbox_journal from program 'python3 "$SANDBOX_CTL" journal'
SELECT * FROM sandbox_requests;
\endif

\echo '   A rolled-back transaction queues nothing and sends nothing:'
BEGIN;
INSERT INTO shop_orders (packingslipno, consignee, city) VALUES ('SHOP-4', 'Never Sent', 'Napier');
ROLLBACK;
SELECT count(*) AS items_for_shop_4 FROM spotgo_gss.outbox WHERE object_key = 'SHOP-4';

\echo '== 16. An UPDATE and a DELETE reach GSS the same way'
\if :{?sandbox_ctl}
\! python3 "$SANDBOX_CTL" --json '{}' journal/clear >/dev/null
\endif
BEGIN;
UPDATE shop_orders SET city = 'Arrowtown' WHERE packingslipno = 'SHOP-2';
DELETE FROM shop_orders WHERE packingslipno = 'SHOP-3';
\echo '   Before COMMIT: an upsert of SHOP-2 with its new city, a delete of SHOP-3'
SELECT object_key, operation, state FROM spotgo_gss.outbox WHERE state = 'pending' ORDER BY 1;
COMMIT;
CALL wait_for_delivery();

\echo '   After COMMIT:'
\echo '   Notice: every item is done, with the API''s answer kept in response.'
SELECT server, state, items FROM spotgo_gss.outbox_status ORDER BY 1, 2;
SELECT object_key, operation, state, attempts, response
  FROM spotgo_gss.outbox ORDER BY id;
\if :{?sandbox_ctl}
\echo '   What the sandbox received:'
TRUNCATE sandbox_journal;
\copy sandbox_journal from program 'python3 "$SANDBOX_CTL" journal'
SELECT * FROM sandbox_requests;
\endif
\echo '   GSS''s list now (the extension reading it back):'
SELECT packingslipno, consignee, city, status
  FROM spotgo_gss.gss_customer_orders()
 ORDER BY 1;

-- ---------------------------------------------------------------------------
\echo
\echo '######## Part 3 of 4: a scheduled sync into a local table'
\echo

\echo '== 17. Copy every GSS order into spotgo_gss.gss_orders_local'
\if :{?sandbox_ctl}
\echo '   (the sandbox plays a busy account: 200 more orders arrive from elsewhere)'
\! python3 "$SANDBOX_CTL" gss/orders --json '{"generate": {"count": 200, "prefix": "WEB", "created": "2026-01-01T00:00:00Z"}}' >/dev/null
\endif
\echo '   Notice: the first run lists everything, three pages of 100; it returns the rows it wrote.'
SELECT spotgo_gss.sync_gss_orders() AS rows_changed;
SELECT server, resource, ok, rows_changed, local_rows, watermark IS NOT NULL AS has_watermark,
       last_error
  FROM spotgo_gss.sync_status;
SELECT coalesce(status, '(pending)') AS status, open, count(*) AS orders
  FROM spotgo_gss.gss_orders_local
 GROUP BY 1, 2
 ORDER BY 1, 2;

\echo '== 18. GSS picks an order; the next run writes only what changed'
\if :{?sandbox_ctl}
\! python3 "$SANDBOX_CTL" gss/process --json '{"packingslipno": "WEB00001", "status": {"Status": "PICKED", "ticketnumber": "GSS000124"}}' >/dev/null
\endif
\echo '   Notice: one row changed: the order left the open-orders listing and was looked up by number.'
SELECT spotgo_gss.sync_gss_orders() AS rows_changed;
SELECT packingslipno, status, ticketnumber, open
  FROM spotgo_gss.gss_orders_local
 WHERE packingslipno = 'WEB00001';
SELECT server, resource, ok, rows_changed, local_rows
  FROM spotgo_gss.sync_status;
\echo '   In production pg_cron runs it (shared_preload_libraries = ''pg_cron,spotgo_gss''):'
\echo '     SELECT cron.schedule(''gss-sync'', ''*/5 * * * *'', ''SELECT spotgo_gss.sync_gss_orders()'');'

-- ---------------------------------------------------------------------------
\echo
\echo '######## Part 4 of 4: BI queries over foreign tables'
\echo

\echo '== 19. IMPORT FOREIGN SCHEMA, a dashboard query, and its EXPLAIN'
\if :demo_foreign_tables
\echo '   Notice: the filter on packingslipno goes to GSS as a list filter (see the Request line).'
CREATE SCHEMA bi;
IMPORT FOREIGN SCHEMA gss FROM SERVER gss INTO bi;
\det+ bi.*
SELECT coalesce(status, '(pending)') AS status, count(*) AS orders
  FROM bi.customer_orders
 WHERE packingslipno IN ('SHOP-1', 'SHOP-2', 'DEMO-1002', 'WEB00001')
 GROUP BY 1
 ORDER BY 1;
EXPLAIN (VERBOSE, COSTS OFF)
SELECT coalesce(status, '(pending)') AS status, count(*) AS orders
  FROM bi.customer_orders
 WHERE packingslipno IN ('SHOP-1', 'SHOP-2', 'DEMO-1002', 'WEB00001')
 GROUP BY 1
 ORDER BY 1;
\else
\echo '   (skipped: the foreign tables are not merged yet; see demo_foreign_tables at the top of test/demo.sql)'
\endif

\echo
\echo 'Done.'
