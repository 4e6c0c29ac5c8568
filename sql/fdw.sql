--
-- fdw: foreign tables over the APIs' resources.  Import, scans, each
-- pushdown (what EXPLAIN shows and what the sandbox received), LIMIT, joins,
-- writes, permissions, costs and errors.
--
SELECT sb.reset();
SELECT sb.call('gss/orders', '{"generate": {"count": 12, "prefix": "F"}}') IS NOT NULL AS seeded;
SELECT sb.call('spotgo/orders', '{"generate": {"count": 5}}') IS NOT NULL AS seeded;
SET enable_memoize = off;

-- the request numbers EXPLAIN ANALYZE adds to a scan (bytes: whether any)
CREATE FUNCTION sb.api_numbers(query text)
RETURNS TABLE (requests int, pages int, bytes boolean)
LANGUAGE plpgsql AS $$
DECLARE
  plan jsonb;
BEGIN
  EXECUTE 'EXPLAIN (ANALYZE, FORMAT JSON, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || query INTO plan;
  plan := jsonb_path_query_first(plan, 'strict $.**  ? (@."Node Type" == "Foreign Scan")');
  RETURN QUERY SELECT (plan ->> 'API Requests')::int, (plan ->> 'API Pages')::int,
                      (plan ->> 'API Bytes')::bigint > 0;
END $$;

-- the planner's row estimate of a query's top node
CREATE FUNCTION sb.estimate(query text) RETURNS float8
LANGUAGE plpgsql AS $$
DECLARE
  plan jsonb;
BEGIN
  EXECUTE 'EXPLAIN (FORMAT JSON) ' || query INTO plan;
  RETURN (plan -> 0 -> 'Plan' ->> 'Plan Rows')::float8;
END $$;

-- the lines of an EXPLAIN
CREATE FUNCTION sb.explain_lines(query text) RETURNS SETOF text
LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY EXECUTE query;
END $$;

CREATE FUNCTION sb.requests() RETURNS SETOF text
LANGUAGE sql AS $$
  SELECT concat_ws(' ', j ->> 'method', j ->> 'path' || coalesce('?' || nullif(j ->> 'query', ''), ''),
                   nullif(j ->> 'body', ''))
  FROM sb.journal() j ORDER BY (j ->> 'seq')::int
$$;

-- ---------------------------------------------------------------------------
-- IMPORT FOREIGN SCHEMA: every column, the resource option, a comment
-- ---------------------------------------------------------------------------
CREATE SCHEMA s;
IMPORT FOREIGN SCHEMA gss FROM SERVER gss INTO s;
IMPORT FOREIGN SCHEMA spotgo FROM SERVER spotgo INTO s;
SELECT c.relname, ft.ftoptions, obj_description(c.oid, 'pg_class') IS NOT NULL AS commented,
       (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0) AS columns
FROM pg_class c JOIN pg_foreign_table ft ON ft.ftrelid = c.oid
WHERE c.relnamespace = 's'::regnamespace ORDER BY 1;
SELECT obj_description('s.customer_orders'::regclass, 'pg_class');
-- LIMIT TO and EXCEPT
CREATE SCHEMA s2;
IMPORT FOREIGN SCHEMA gss LIMIT TO (pending_orders) FROM SERVER gss INTO s2;
SELECT relname FROM pg_class WHERE relnamespace = 's2'::regnamespace ORDER BY 1;
DROP SCHEMA s2 CASCADE;
CREATE SCHEMA s2;
IMPORT FOREIGN SCHEMA gss EXCEPT (pending_orders) FROM SERVER gss INTO s2;
SELECT relname, obj_description(oid, 'pg_class') IS NOT NULL AS commented
FROM pg_class WHERE relnamespace = 's2'::regnamespace ORDER BY 1;
DROP SCHEMA s2 CASCADE;
-- a schema the server does not have, or has on the other API
IMPORT FOREIGN SCHEMA orders FROM SERVER gss INTO public;
IMPORT FOREIGN SCHEMA spotgo FROM SERVER gss INTO public;

-- ---------------------------------------------------------------------------
-- Tables by hand: the resource option, columns a subset by name
-- ---------------------------------------------------------------------------
CREATE FOREIGN TABLE public.ft_bad (packingslipno text) SERVER gss;
CREATE FOREIGN TABLE public.ft_bad (packingslipno text) SERVER gss OPTIONS (resource 'gss.orders');
CREATE FOREIGN TABLE public.ft_bad (packingslipno text) SERVER gss OPTIONS (resource 'gss.customer_orders', rows 'many');
CREATE FOREIGN TABLE public.ft_bad (packingslipno text) SERVER gss OPTIONS (resource 'gss.customer_orders', colour 'red');
CREATE FOREIGN TABLE public.ft_slips (city text, packingslipno text) SERVER gss OPTIONS (resource 'gss.customer_orders');
SELECT packingslipno, city FROM public.ft_slips ORDER BY 1 LIMIT 3;
-- checked when the table is used: an unknown column names the valid ones
CREATE FOREIGN TABLE public.ft_colour (packingslipno text, colour text) SERVER gss OPTIONS (resource 'gss.customer_orders');
SELECT * FROM public.ft_colour;
CREATE FOREIGN TABLE public.ft_typed (packingslipno text, picked date) SERVER gss OPTIONS (resource 'gss.customer_orders');
SELECT * FROM public.ft_typed;
CREATE FOREIGN TABLE public.ft_wrong_api (order_id uuid) SERVER gss OPTIONS (resource 'spotgo.orders');
SELECT * FROM public.ft_wrong_api;
DROP FOREIGN TABLE public.ft_colour, public.ft_typed, public.ft_wrong_api;

-- ---------------------------------------------------------------------------
-- Scans: streamed rows, only the columns used are asked for and built
-- ---------------------------------------------------------------------------
SELECT sb.clear_journal();
SELECT count(*), max(consignee), max(city), count(products) FROM s.customer_orders;
SELECT count(*) FILTER (WHERE status IS NULL) AS pending, count(DISTINCT packingslipno) FROM s.customer_orders;
-- products only when the products column is used
SELECT * FROM sb.requests();
SELECT packingslipno, consignee, city, isrural, notrural, status, products IS NOT NULL AS has_products, extra
FROM s.customer_orders ORDER BY packingslipno LIMIT 2;
SELECT count(*) FROM s.pending_orders;
SELECT order_number, status, carrier_name, share_url IS NOT NULL AS shared, "order" ->> 'orderNumber' AS in_order
FROM s.orders ORDER BY order_number;
-- paging: 12 orders, page_size 5: three requests
ALTER SERVER gss OPTIONS (ADD page_size '5');
SELECT sb.clear_journal();
SELECT count(*) FROM s.customer_orders;
SELECT * FROM sb.requests();
SELECT * FROM sb.api_numbers('SELECT * FROM s.customer_orders');

-- ---------------------------------------------------------------------------
-- Pushdown, GoSweetSpot: packingslipno =, IN, = ANY become the list filter,
-- applied exactly by the API: no local Filter
-- ---------------------------------------------------------------------------
EXPLAIN (VERBOSE, COSTS OFF) SELECT packingslipno, city FROM s.customer_orders WHERE packingslipno = 'F00003';
EXPLAIN (VERBOSE, COSTS OFF) SELECT packingslipno FROM s.customer_orders WHERE packingslipno IN ('F00003', 'F00001', 'F00003');
EXPLAIN (VERBOSE, COSTS OFF) SELECT packingslipno FROM s.customer_orders WHERE packingslipno = ANY (ARRAY['F00002', 'F#9']);
SELECT sb.clear_journal();
SELECT packingslipno, city FROM s.customer_orders WHERE packingslipno = 'F00003';
SELECT packingslipno FROM s.customer_orders WHERE packingslipno IN ('F00003', 'F00001', 'F00003') ORDER BY 1;
SELECT packingslipno FROM s.customer_orders WHERE 'F00002' = packingslipno;
SELECT * FROM sb.requests();
-- more than 50 numbers: one listing per 50 (the first finds the 12 orders, three
-- pages of 5; the second one empty page)
SELECT * FROM sb.api_numbers($$SELECT * FROM s.customer_orders
  WHERE packingslipno = ANY (ARRAY(SELECT 'F' || lpad(i::text, 5, '0') FROM generate_series(1, 60) i))$$);
SELECT count(*) FROM s.customer_orders
WHERE packingslipno = ANY (ARRAY(SELECT 'F' || lpad(i::text, 5, '0') FROM generate_series(1, 60) i));
-- a value with a comma cannot go into the list: checked here, on a full listing
EXPLAIN (VERBOSE, COSTS OFF) SELECT packingslipno FROM s.customer_orders WHERE packingslipno IN ('F00001', 'A,B');
SELECT packingslipno FROM s.customer_orders WHERE packingslipno IN ('F00001', 'A,B');
-- other conditions are checked here
EXPLAIN (VERBOSE, COSTS OFF) SELECT packingslipno FROM s.customer_orders WHERE packingslipno IN ('F00001', 'F00002') AND city <> 'Nowhere';
-- NULL matches nothing: no request
SELECT sb.clear_journal();
SELECT count(*) FROM s.customer_orders WHERE packingslipno = NULL::text;
PREPARE null_slip(text) AS SELECT count(*) FROM s.customer_orders WHERE packingslipno = $1;
EXECUTE null_slip(NULL);
DEALLOCATE null_slip;
SELECT count(*) AS requests FROM sb.journal();

-- parameters: $1 of a generic plan, sent when the statement runs
SET plan_cache_mode = force_generic_plan;
PREPARE by_slip(text) AS SELECT packingslipno, city FROM s.customer_orders WHERE packingslipno = $1;
PREPARE by_slips(text[]) AS SELECT packingslipno FROM s.customer_orders WHERE packingslipno = ANY ($1) ORDER BY 1;
EXPLAIN (VERBOSE, COSTS OFF) EXECUTE by_slip('F00004');
EXPLAIN (VERBOSE, COSTS OFF) EXECUTE by_slips('{F00004,F00005}');
SELECT sb.clear_journal();
EXECUTE by_slip('F00004');
EXECUTE by_slips('{F00005,F00004,F00005}');
-- a parameter with a comma: not sent, checked here
EXECUTE by_slip('F00004,F00005');
SELECT * FROM sb.requests();
RESET plan_cache_mode;
DEALLOCATE by_slip;
DEALLOCATE by_slips;

-- the outer side of a nested loop: one request per outer row
CREATE TABLE public.wanted (slip text);
INSERT INTO public.wanted VALUES ('F00005'), ('F00007'), ('NOPE');
ANALYZE public.wanted;
EXPLAIN (VERBOSE, COSTS OFF)
SELECT w.slip, c.city FROM public.wanted w JOIN s.customer_orders c ON c.packingslipno = w.slip;
SELECT sb.clear_journal();
SELECT w.slip, c.city FROM public.wanted w JOIN s.customer_orders c ON c.packingslipno = w.slip ORDER BY 1;
SELECT * FROM sb.requests();

-- ---------------------------------------------------------------------------
-- LIMIT: pushed when every condition is: smaller pages, paging stops
-- ---------------------------------------------------------------------------
EXPLAIN (VERBOSE, COSTS OFF) SELECT packingslipno FROM s.customer_orders LIMIT 3;
SELECT sb.clear_journal();
SELECT packingslipno FROM s.customer_orders LIMIT 3;
SELECT * FROM sb.requests();
-- more than a page: two pages of 5, not three
SELECT sb.clear_journal();
SELECT count(*) FROM (SELECT packingslipno FROM s.customer_orders LIMIT 7) l;
SELECT * FROM sb.requests();
-- with OFFSET: the rows skipped are read too
EXPLAIN (VERBOSE, COSTS OFF) SELECT packingslipno FROM s.customer_orders LIMIT 2 OFFSET 4;
SELECT packingslipno FROM s.customer_orders LIMIT 2 OFFSET 4;
-- with a pushed list filter
SELECT sb.clear_journal();
SELECT packingslipno FROM s.customer_orders WHERE packingslipno IN ('F00009', 'F00010', 'F00011') LIMIT 1;
SELECT * FROM sb.requests();
-- LIMIT 0 asks nothing; a negative LIMIT is refused as PostgreSQL does
SELECT sb.clear_journal();
SELECT packingslipno FROM s.customer_orders LIMIT 0;
SELECT count(*) AS requests FROM sb.journal();
SELECT packingslipno FROM s.customer_orders LIMIT -1;
-- not pushed: a condition checked here, an ORDER BY, an aggregate
EXPLAIN (VERBOSE, COSTS OFF) SELECT packingslipno FROM s.customer_orders WHERE city = 'Nelson' LIMIT 1;
EXPLAIN (VERBOSE, COSTS OFF) SELECT packingslipno FROM s.customer_orders ORDER BY 1 LIMIT 1;
ALTER SERVER gss OPTIONS (DROP page_size);

-- ---------------------------------------------------------------------------
-- Pushdown, SpotGo: order_number and status go into the query filter (SpotGo
-- matches a part of the number and any case of the status, so both are
-- checked here too); order_id = v is one GET of the order
-- ---------------------------------------------------------------------------
EXPLAIN (VERBOSE, COSTS OFF)
SELECT order_number FROM s.orders WHERE order_number = 'SG-00002' AND status IN ('Created', 'Done');
SELECT sb.clear_journal();
SELECT order_number FROM s.orders WHERE order_number = 'SG-00002' AND status IN ('Created', 'Done');
SELECT order_number FROM s.orders WHERE status = 'created';
SELECT * FROM sb.requests();
SELECT order_id AS sg3 FROM s.orders WHERE order_number = 'SG-00003' \gset
EXPLAIN (VERBOSE, COSTS OFF) SELECT order_number, carrier_name FROM s.orders WHERE order_id = :'sg3';
SELECT sb.clear_journal();
SELECT order_number, carrier_name FROM s.orders WHERE order_id = :'sg3';
-- an unknown id is no row
SELECT count(*) FROM s.orders WHERE order_id = '00000000-0000-0000-0000-000000000000';
SELECT * FROM sb.requests();
-- the lookup wins over the query filter, which is checked here
EXPLAIN (VERBOSE, COSTS OFF) SELECT order_number FROM s.orders WHERE order_id = :'sg3' AND order_number = 'X';
-- a join on order_id: one GET per outer row
CREATE TABLE public.wanted_ids AS SELECT order_id FROM s.orders WHERE order_number IN ('SG-00001', 'SG-00004');
ANALYZE public.wanted_ids;
EXPLAIN (VERBOSE, COSTS OFF)
SELECT o.order_number FROM public.wanted_ids w JOIN s.orders o USING (order_id);
SELECT sb.clear_journal();
SELECT o.order_number FROM public.wanted_ids w JOIN s.orders o USING (order_id) ORDER BY 1;
SELECT count(*) AS gets FROM sb.journal() j WHERE j ->> 'method' = 'GET';
EXPLAIN (VERBOSE, COSTS OFF) SELECT order_number FROM s.orders LIMIT 2;
SELECT sb.clear_journal();
SELECT count(*) FROM (SELECT order_number FROM s.orders LIMIT 2) l;
SELECT * FROM sb.requests();
SELECT * FROM sb.api_numbers($$SELECT * FROM s.orders WHERE order_id = '$$ || :'sg3' || $$'$$);

-- ---------------------------------------------------------------------------
-- Costs: the rows option, else the local sync copy's count, else a default
-- ---------------------------------------------------------------------------
SELECT sb.estimate('SELECT * FROM s.customer_orders') AS default_rows;
INSERT INTO spotgo_gss.gss_orders_local (packingslipno, server, synced_at)
SELECT 'L' || i, 'gss', now() FROM generate_series(1, 4321) i;
SELECT sb.estimate('SELECT * FROM s.customer_orders') AS local_rows;
ALTER FOREIGN TABLE s.customer_orders OPTIONS (ADD rows '250000');
SELECT sb.estimate('SELECT * FROM s.customer_orders') AS option_rows;
SELECT sb.estimate($$SELECT * FROM s.customer_orders WHERE packingslipno IN ('A', 'B')$$) AS two_numbers;
ALTER FOREIGN TABLE s.customer_orders OPTIONS (DROP rows);
DELETE FROM spotgo_gss.gss_orders_local;
-- a small local table joins by lookups, a large one by one listing
CREATE TABLE public.many AS SELECT 'F' || lpad(i::text, 5, '0') AS slip FROM generate_series(1, 5000) i;
ANALYZE public.many;
EXPLAIN (COSTS OFF) SELECT count(*) FROM public.many m JOIN s.customer_orders c ON c.packingslipno = m.slip;
SELECT count(*) FROM public.many m JOIN s.customer_orders c ON c.packingslipno = m.slip;
DROP TABLE public.many;

-- ---------------------------------------------------------------------------
-- Writes, GoSweetSpot: INSERT is a batched PUT, UPDATE a PUT, DELETE 50 a
-- request; what GoSweetSpot refuses is not counted and named in a WARNING
-- ---------------------------------------------------------------------------
ALTER SERVER gss OPTIONS (ADD batch_size '2');
SELECT line FROM (SELECT * FROM sb.explain_lines(
  $$EXPLAIN (VERBOSE, COSTS OFF) INSERT INTO s.customer_orders (packingslipno) VALUES ('W1')$$)) e(line)
WHERE line NOT LIKE '%Output:%';
SELECT sb.clear_journal();
INSERT INTO s.customer_orders (packingslipno, consignee, city, isrural, products)
SELECT 'W' || i, 'Name ' || i, 'Town', i % 2 = 0, '[{"productcode": "P1", "units": 1.00000000}]'
FROM generate_series(1, 5) i;
SELECT j ->> 'method' AS method, jsonb_array_length(j -> 'json') AS orders FROM sb.journal() j ORDER BY (j ->> 'seq')::int;
SELECT (SELECT j -> 'json' -> 0 FROM sb.journal() j ORDER BY (j ->> 'seq')::int LIMIT 1) =
  '{"packingslipno": "W1", "consignee": "Name 1", "city": "Town", "isrural": false,
    "products": [{"productcode": "P1", "units": 1.00000000}]}'::jsonb AS first_order_as_sent;
SELECT packingslipno, consignee, city, isrural FROM s.customer_orders WHERE packingslipno IN ('W1', 'W2') ORDER BY 1;
-- W2 is processed: an insert of it is ignored, and not counted
SELECT sb.call('gss/process', '{"packingslipno": "W2"}') IS NOT NULL AS processed;
INSERT INTO s.customer_orders (packingslipno, consignee) VALUES ('W2', 'again'), ('W6', 'new');
INSERT INTO s.customer_orders (packingslipno, consignee) VALUES ('W2', 'again'), ('W7', 'new')
RETURNING packingslipno, consignee;
-- COPY goes the same way
COPY s.customer_orders (packingslipno, consignee) FROM stdin;
W8	copied
W9	copied too
\.
SELECT packingslipno, consignee FROM s.customer_orders WHERE packingslipno IN ('W8', 'W9') ORDER BY 1;
-- an order must have a packingslipno
INSERT INTO s.customer_orders (consignee) VALUES ('nobody');
INSERT INTO s.customer_orders (packingslipno) VALUES ('W10') ON CONFLICT DO NOTHING;
-- UPDATE: the whole new order, one PUT each; the status is GoSweetSpot's
SELECT sb.clear_journal();
UPDATE s.customer_orders SET city = 'Napier' WHERE packingslipno IN ('W1', 'W2', 'W3');
SELECT j ->> 'method' AS method, j -> 'json' -> 0 ->> 'packingslipno' AS slip, j -> 'json' -> 0 ->> 'city' AS city,
       j -> 'json' -> 0 ->> 'consignee' AS consignee
FROM sb.journal() j WHERE j ->> 'method' = 'PUT' ORDER BY (j ->> 'seq')::int;
UPDATE s.customer_orders SET consignee = upper(consignee) WHERE packingslipno = 'W3' RETURNING packingslipno, consignee, city;
UPDATE s.customer_orders SET status = 'DELIVERED' WHERE packingslipno = 'W1';
UPDATE s.customer_orders SET packingslipno = 'W1b' WHERE packingslipno = 'W1';
-- DELETE: the rows are read first, then deleted 50 numbers a request
SELECT sb.call('gss/orders', '{"generate": {"count": 60, "prefix": "D"}}') IS NOT NULL AS seeded;
EXPLAIN (VERBOSE, COSTS OFF) DELETE FROM s.customer_orders WHERE packingslipno LIKE 'D%';
SELECT sb.clear_journal();
DELETE FROM s.customer_orders WHERE packingslipno LIKE 'D%';
SELECT j ->> 'method' AS method, array_length(string_to_array(j -> 'args' ->> 'packingslipno', ','), 1) AS numbers
FROM sb.journal() j WHERE j ->> 'method' = 'DELETE' ORDER BY (j ->> 'seq')::int;
SELECT count(*) FROM s.customer_orders WHERE packingslipno LIKE 'D%';
-- W2 is processed: not deleted, not counted
DELETE FROM s.customer_orders WHERE packingslipno IN ('W2', 'W3') RETURNING packingslipno, city;
SELECT packingslipno, status FROM s.customer_orders WHERE packingslipno LIKE 'W%' ORDER BY 1;
-- a DELETE through a join deletes row by row
SELECT sb.clear_journal();
DELETE FROM s.customer_orders c USING public.wanted w WHERE c.packingslipno = w.slip;
SELECT * FROM sb.requests();
-- pending_orders is read only
INSERT INTO s.pending_orders (packingslipno) VALUES ('X1');
DELETE FROM s.pending_orders;
ALTER SERVER gss OPTIONS (DROP batch_size);

-- ---------------------------------------------------------------------------
-- Writes, SpotGo: INSERT creates, UPDATE updates by order_id, DELETE
-- deletes; RETURNING gives what SpotGo answered
-- ---------------------------------------------------------------------------
SELECT sb.clear_journal();
INSERT INTO s.orders (order_number, carrier_name, carrier_vat_code, internal_comments, "order")
VALUES ('N-1', 'Haul AB', 'SE1', 'fragile', '{"details": {"weight": 10}, "locations": []}')
RETURNING order_number, status, carrier_name, order_id IS NOT NULL AS has_id, created_at IS NOT NULL AS has_created,
          share_url IS NOT NULL AS shared, "order" -> 'details' AS details;
SELECT j ->> 'method' AS method, j ->> 'path' AS path, j -> 'json' AS body FROM sb.journal() j;
SELECT sb.clear_journal();
UPDATE s.orders SET internal_comments = 'handle with care' WHERE order_number = 'N-1'
RETURNING order_number, internal_comments, carrier_name;
SELECT j ->> 'method' AS method, j ->> 'path' LIKE '/api/v1/orders/%-%' AS by_id,
       j -> 'json' ->> 'internalComments' AS comments, j -> 'json' ? 'orderId' AS sends_id
FROM sb.journal() j WHERE j ->> 'method' = 'PUT';
UPDATE s.orders SET status = 'Done' WHERE order_number = 'N-1';
UPDATE s.orders SET order_id = gen_random_uuid() WHERE order_number = 'N-1';
INSERT INTO s.orders (order_number) VALUES ('N-2'), ('N-1');
SELECT count(*) FROM s.orders WHERE order_number LIKE 'N-%';
SELECT sb.clear_journal();
DELETE FROM s.orders WHERE order_number IN ('N-1', 'N-2') RETURNING order_number;
SELECT j ->> 'method' AS method, count(*) FROM sb.journal() j GROUP BY 1 ORDER BY 1;
SELECT count(*) FROM s.orders WHERE order_number LIKE 'N-%';

-- ---------------------------------------------------------------------------
-- Permissions: the user mapping of the role the executor checks as; through
-- a view, the view's owner
-- ---------------------------------------------------------------------------
CREATE ROLE regress_fdw_owner;
CREATE ROLE regress_fdw_reader;
CREATE ROLE regress_fdw_nobody;
CREATE USER MAPPING FOR regress_fdw_owner SERVER gss OPTIONS (access_key 'gss-test-key');
CREATE USER MAPPING FOR regress_fdw_reader SERVER gss OPTIONS (access_key 'not-the-key');
GRANT USAGE ON SCHEMA s TO regress_fdw_owner, regress_fdw_reader, regress_fdw_nobody;
GRANT SELECT ON s.customer_orders TO regress_fdw_owner, regress_fdw_reader, regress_fdw_nobody;
CREATE VIEW s.owners_view AS SELECT packingslipno, city FROM s.customer_orders;
ALTER VIEW s.owners_view OWNER TO regress_fdw_owner;
GRANT SELECT ON s.owners_view TO regress_fdw_reader, regress_fdw_nobody;
-- the reader's own key is not GoSweetSpot's: through the view the owner's is used
SET ROLE regress_fdw_reader;
SELECT count(*) FROM s.owners_view WHERE packingslipno = 'F00001';
SELECT count(*) FROM s.customer_orders WHERE packingslipno = 'F00001';
-- a role with no mapping: through the view it works, directly it is told
SET ROLE regress_fdw_nobody;
SELECT count(*) FROM s.owners_view WHERE packingslipno = 'F00001';
SELECT count(*) FROM s.customer_orders WHERE packingslipno = 'F00001';
RESET ROLE;
DROP VIEW s.owners_view;
DROP USER MAPPING FOR regress_fdw_owner SERVER gss;
DROP USER MAPPING FOR regress_fdw_reader SERVER gss;
REVOKE ALL ON s.customer_orders FROM regress_fdw_owner, regress_fdw_reader, regress_fdw_nobody;
REVOKE ALL ON SCHEMA s FROM regress_fdw_owner, regress_fdw_reader, regress_fdw_nobody;
DROP ROLE regress_fdw_owner, regress_fdw_reader, regress_fdw_nobody;

-- ---------------------------------------------------------------------------
-- Errors: the API's, mid-scan; cancel; no secret in EXPLAIN
-- ---------------------------------------------------------------------------
SELECT sb.fault('{"path": "/api/customerorders", "status": 500, "body": {"Message": "database on fire"}, "times": 1}');
ALTER SERVER gss OPTIONS (ADD max_retries '0');
SELECT * FROM sb.err('SELECT count(*) FROM s.customer_orders');
SELECT sb.fault('{"path": "/api/customerorders", "delay_ms": 10000, "times": 1}');
SET statement_timeout = '300ms';
SELECT count(*) FROM s.customer_orders;
RESET statement_timeout;
ALTER SERVER gss OPTIONS (DROP max_retries);
SELECT count(*) AS explain_lines_with_key FROM (
  SELECT sb.api_numbers('SELECT * FROM s.customer_orders WHERE packingslipno = ''F00001''')::text AS l
  UNION ALL
  SELECT l::text FROM sb.requests() l) x WHERE l LIKE '%gss-test-key%';

DROP TABLE public.wanted, public.wanted_ids;
DROP FOREIGN TABLE public.ft_slips;
DROP SCHEMA s CASCADE;
RESET enable_memoize;
