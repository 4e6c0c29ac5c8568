--
-- gss: the GoSweetSpot customer-order functions against the sandbox,
-- checking returned rows and what the sandbox received.
--
SELECT sb.reset();

-- publish: one PUT, headers as documented, key never journaled
SELECT * FROM spotgo_gss.gss_upsert_orders($$[
  {"packingslipno": "SS#1", "consignee": "Kiwi Ltd", "address1": "1 Queen St", "city": "Auckland",
   "postcode": "1010", "country": "NZ", "email": "kiwi@example.com",
   "products": [{"productcode": "P1", "description": "Box", "units": 2, "unitvalue": 12.50000000}],
   "packages": [{"packageStockName": "Carton", "quantity": 1, "weightKg": 1.5}]},
  {"packingslipno": "SS2", "consignee": "Tui Co", "rawaddress": "2 Lambton Quay\nWellington",
   "isrural": "true", "notrural": false},
  {"PackingSlipNo": "SS3", "Consignee": "Weka & Sons", "city": "Nelson", "customField1Value": "gold"}
]$$);

SELECT j ->> 'method' AS method, j ->> 'path' AS path,
       j -> 'headers' ->> 'access_key' AS access_key,
       j -> 'headers' ->> 'site_id' AS site_id,
       j -> 'headers' ->> 'supportemail' AS supportemail,
       j -> 'headers' ->> 'content-type' AS content_type,
       j -> 'headers' ->> 'accept' AS accept,
       j -> 'headers' ->> 'user-agent' LIKE 'spotgo_gss/%' AS user_agent,
       jsonb_array_length(j -> 'json') AS orders_in_body,
       j -> 'json' -> 0 = $${"packingslipno": "SS#1", "consignee": "Kiwi Ltd", "address1": "1 Queen St", "city": "Auckland",
         "postcode": "1010", "country": "NZ", "email": "kiwi@example.com",
         "products": [{"productcode": "P1", "description": "Box", "units": 2, "unitvalue": 12.50000000}],
         "packages": [{"packageStockName": "Carton", "quantity": 1, "weightKg": 1.5}]}$$::jsonb AS body_round_trip
FROM sb.journal() j;
-- no secret anywhere in what was sent and journaled
SELECT count(*) AS journal_entries_with_key FROM sb.journal() j WHERE j::text LIKE '%gss-test-key%';

-- list: every column, the nested status flattened, unknown fields in extra
SELECT packingslipno, consignee, address1, city, postcode, country, rawaddress, isrural, notrural,
       status, ticketnumber, picked, products, packages, extra
FROM spotgo_gss.gss_customer_orders(include_products => true) ORDER BY packingslipno;

-- GoSweetSpot processes SS2: its status comes back flattened
SELECT sb.call('gss/process', $${"packingslipno": "SS2", "status": {"Status": "PICKED", "ticketnumber": "TKT-9",
  "trackingurl": "https://track.example/TKT-9", "Picked": "2026-08-01T10:00:00", "Delivered": null, "manualticket": true}}$$) IS NOT NULL AS processed;
SELECT packingslipno, status, ticketnumber, trackingurl, picked, delivered, manualticket
FROM spotgo_gss.gss_customer_orders() ORDER BY packingslipno;
SELECT * FROM spotgo_gss.gss_order_status('SS2');
-- an already processed order is ignored by an upload
SELECT * FROM spotgo_gss.gss_upsert_orders('[{"packingslipno": "SS2", "consignee": "changed"}, {"packingslipno": "SS4"}]');
SELECT spotgo_gss.gss_upsert_order('{"packingslipno": "SS2"}') AS saved,
       spotgo_gss.gss_upsert_order('{"packingslipno": "SS5", "city": "Napier"}') AS saved_new;

-- "#" is percent-encoded in the path and in the list filter
SELECT sb.clear_journal();
SELECT packingslipno, consignee, status FROM spotgo_gss.gss_order_status('SS#1');
SELECT packingslipno FROM spotgo_gss.gss_customer_orders(ARRAY['SS#1', 'SS3']) ORDER BY 1;
SELECT j ->> 'path' AS path, j ->> 'query' AS query FROM sb.journal() j ORDER BY (j ->> 'seq')::int;
-- unknown order: NULL
SELECT spotgo_gss.gss_order_status('NOPE')::text IS NULL AS unknown;
SELECT spotgo_gss.gss_order_status(NULL)::text IS NULL AS null_in_null_out;

-- filters go out as documented: UTC times, flags
SELECT sb.clear_journal();
SET TimeZone = 'Pacific/Auckland';
SELECT count(*) FROM spotgo_gss.gss_customer_orders(
  created_from => '2026-01-01 13:00:00+13', created_to => '2027-01-01 00:00:00+00',
  exclude_completed => true, include_products => true);
RESET TimeZone;
SELECT j ->> 'query' AS query FROM sb.journal() j;
-- open orders only
SELECT packingslipno FROM spotgo_gss.gss_customer_orders(exclude_completed => true) ORDER BY 1;
SELECT packingslipno, status FROM spotgo_gss.gss_pending_orders() ORDER BY 1;

-- paging: 250 more orders, page_size 100: three requests, pages 1..3, one connection
SELECT sb.call('gss/orders', '{"generate": {"count": 250, "prefix": "GEN"}}') IS NOT NULL AS seeded;
ALTER SERVER gss OPTIONS (ADD page_size '100');
SELECT sb.clear_journal();
SELECT count(*), count(DISTINCT packingslipno) FROM spotgo_gss.gss_customer_orders();
SELECT j -> 'args' ->> 'page' AS page, j -> 'args' ->> 'pagesize' AS pagesize
FROM sb.journal() j ORDER BY (j ->> 'seq')::int;
SELECT count(DISTINCT j ->> 'conn') AS connections FROM sb.journal() j;
-- keep-alive across statements too
SELECT count(*) FROM spotgo_gss.gss_customer_orders(exclude_completed => true);
SELECT count(DISTINCT j ->> 'conn') AS connections FROM sb.journal() j;
-- a filter of 120 numbers goes out 50 at a time
SELECT sb.clear_journal();
SELECT count(*) FROM spotgo_gss.gss_customer_orders(
  (SELECT array_agg(format('GEN%s', lpad(i::text, 5, '0'))) FROM generate_series(1, 120) i));
SELECT array_length(string_to_array(j -> 'args' ->> 'packingslipno', ','), 1) AS numbers
FROM sb.journal() j ORDER BY (j ->> 'seq')::int;
ALTER SERVER gss OPTIONS (DROP page_size);

-- upload in batches of batch_size
ALTER SERVER gss OPTIONS (ADD batch_size '2');
SELECT sb.clear_journal();
SELECT * FROM spotgo_gss.gss_upsert_orders(
  (SELECT jsonb_agg(jsonb_build_object('packingslipno', 'B' || i, 'consignee', 'Batch ' || i)) FROM generate_series(1, 5) i));
SELECT j ->> 'method' AS method, jsonb_array_length(j -> 'json') AS orders_in_body,
       j -> 'json' -> 0 ->> 'packingslipno' AS first
FROM sb.journal() j ORDER BY (j ->> 'seq')::int;
ALTER SERVER gss OPTIONS (DROP batch_size);
-- empty input sends nothing
SELECT sb.clear_journal();
SELECT * FROM spotgo_gss.gss_upsert_orders('[]');
SELECT * FROM spotgo_gss.gss_upsert_orders(NULL);
SELECT * FROM spotgo_gss.gss_delete_orders('{}');
SELECT count(*) AS requests FROM sb.journal();

-- delete: GoSweetSpot's words, only "Deleted." is deleted
SELECT * FROM spotgo_gss.gss_delete_orders(ARRAY['SS3', 'SS2', 'NOPE', 'SS#1']);
SELECT * FROM spotgo_gss.gss_delete_orders(ARRAY['SS3']);
SELECT sb.clear_journal();
SELECT count(*) FILTER (WHERE deleted) AS deleted, count(*) AS answered
FROM spotgo_gss.gss_delete_orders(
  (SELECT array_agg(format('GEN%s', lpad(i::text, 5, '0'))) FROM generate_series(1, 120) i));
SELECT j ->> 'method' AS method,
       array_length(string_to_array(j -> 'args' ->> 'packingslipno', ','), 1) AS numbers
FROM sb.journal() j ORDER BY (j ->> 'seq')::int;

-- bad input is refused before any request
SELECT sb.clear_journal();
SELECT * FROM sb.err($$SELECT * FROM spotgo_gss.gss_upsert_orders('{"packingslipno": "X"}')$$);
SELECT * FROM sb.err($$SELECT * FROM spotgo_gss.gss_upsert_orders('[{"packingslipno": "X"}, 42]')$$);
SELECT * FROM sb.err($$SELECT * FROM spotgo_gss.gss_upsert_orders('[{"consignee": "nobody"}]')$$);
SELECT * FROM sb.err($$SELECT * FROM spotgo_gss.gss_upsert_orders('[{"packingslipno": ""}]')$$);
SELECT * FROM sb.err($$SELECT * FROM spotgo_gss.gss_upsert_orders('[{"packingslipno": 17}]')$$);
SELECT * FROM sb.err($$SELECT * FROM spotgo_gss.gss_upsert_orders('[{"packingslipno": "A"}, {"packingslipno": "A"}]')$$);
SELECT * FROM sb.err($$SELECT * FROM spotgo_gss.gss_upsert_orders('[{"packingslipno": "A", "products": {"productcode": "x"}}]')$$);
SELECT * FROM sb.err($$SELECT * FROM spotgo_gss.gss_upsert_orders('[{"packingslipno": "A", "country": "NZL"}]')$$);
SELECT * FROM sb.err($$SELECT * FROM spotgo_gss.gss_upsert_orders('[{"packingslipno": "A", "isSignatureRequired": "yes"}]')$$);
SELECT * FROM sb.err(format($$SELECT * FROM spotgo_gss.gss_upsert_orders('[{"packingslipno": "A", "shippingDescription": "%s"}]')$$, repeat('x', 251)));
SELECT * FROM sb.err($$SELECT spotgo_gss.gss_upsert_order('[{"packingslipno": "A"}]')$$);
SELECT * FROM sb.err($$SELECT * FROM spotgo_gss.gss_delete_orders(ARRAY['A', 'B', 'A'])$$);
SELECT * FROM sb.err($$SELECT * FROM spotgo_gss.gss_delete_orders(ARRAY['A,B'])$$);
SELECT * FROM sb.err($$SELECT * FROM spotgo_gss.gss_delete_orders(ARRAY['A', NULL])$$);
SELECT * FROM sb.err($$SELECT * FROM spotgo_gss.gss_customer_orders(ARRAY['A,B'])$$);
SELECT * FROM sb.err($$SELECT * FROM spotgo_gss.gss_customer_orders(ARRAY[''])$$);
SELECT * FROM sb.err($$SELECT * FROM spotgo_gss.gss_customer_orders(created_from => 'infinity')$$);
SELECT * FROM sb.err($$SELECT spotgo_gss.gss_order_status('')$$);
SELECT count(*) AS requests FROM sb.journal();
-- a comma is fine on the status path
SELECT spotgo_gss.gss_order_status('A,B')::text IS NULL AS unknown;
SELECT j ->> 'path' AS path FROM sb.journal() j;
