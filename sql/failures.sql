--
-- failures: an API that misbehaves (issue 10).  Paging without end, bytes
-- that are not UTF-8, API text that would forge a log line or leak the key,
-- dot segments in a path, and duplicate checks on very long arguments.
-- Each case shows the outcome (rows, SQLSTATE, DETAIL, HINT) and what the
-- sandbox received.
--
SELECT sb.reset();
SET spotgo_gss.max_attempts = 3;

-- a fault whose body is body's bytes, each '~' replaced by ff fe (not UTF-8)
CREATE FUNCTION sb.raw_fault(path text, body text, times int DEFAULT 1) RETURNS void
LANGUAGE sql AS $$
  SELECT sb.fault(jsonb_build_object('path', path, 'times', times, 'body_hex',
    (SELECT string_agg(encode(convert_to(part, 'UTF8'), 'hex'), 'fffe' ORDER BY n)
     FROM unnest(string_to_array(body, '~')) WITH ORDINALITY AS u(part, n))))
$$;

-- the requests the sandbox received, in order, as "METHOD path?query"
CREATE FUNCTION sb.requests() RETURNS SETOF text
LANGUAGE sql AS $$
  SELECT (j ->> 'method') || ' ' || (j ->> 'path') ||
         CASE WHEN j ->> 'query' <> '' THEN '?' || (j ->> 'query') ELSE '' END
  FROM sb.journal() j ORDER BY (j ->> 'seq')::int
$$;

--
-- max_pages: a server option, checked like the other integers
--
CREATE SERVER f1 FOREIGN DATA WRAPPER spotgo_gss OPTIONS (api 'gss', site_id '1', max_pages '0');
CREATE SERVER f1 FOREIGN DATA WRAPPER spotgo_gss OPTIONS (api 'spotgo', max_pages 'many');
CREATE SERVER f1 FOREIGN DATA WRAPPER spotgo_gss OPTIONS (api 'spotgo', max_pages '1000001');
CREATE SERVER f1 FOREIGN DATA WRAPPER spotgo_gss OPTIONS (api 'spotgo', max_pages '1');
DROP SERVER f1;

--
-- SpotGo paging that does not end
--
-- the same continuation token for ever: an error at the second page, not
-- thousands of requests
SELECT sb.clear_journal();
SELECT sb.fault('{"path": "/api/v1/orders/query", "status": 200, "times": -1,
  "body": {"items": [{"orderId": "7b5c3c1e-1111-4a4a-9b9b-000000000001", "orderNumber": "LOOP-1"}],
           "continuationToken": "same-token"}}');
SELECT * FROM sb.err($$SELECT count(*) FROM spotgo_gss.spotgo_query_orders('{}')$$);
SELECT j -> 'json' ->> 'continuationToken' AS token_sent FROM sb.journal() j ORDER BY (j ->> 'seq')::int;
SELECT sb.call('fault/clear', '{}') IS NOT NULL AS cleared;
-- a cycle of tokens (A, B, A) is caught the same way
SELECT sb.clear_journal();
SELECT sb.fault('{"path": "/api/v1/orders/query", "status": 200, "body": {"items": [], "continuationToken": "A"}}');
SELECT sb.fault('{"path": "/api/v1/orders/query", "status": 200, "body": {"items": [], "continuationToken": "B"}}');
SELECT sb.fault('{"path": "/api/v1/orders/query", "status": 200, "body": {"items": [], "continuationToken": "A"}}');
SELECT * FROM sb.err($$SELECT count(*) FROM spotgo_gss.spotgo_query_orders('{}')$$);
SELECT j -> 'json' ->> 'continuationToken' AS token_sent FROM sb.journal() j ORDER BY (j ->> 'seq')::int;
-- a token with control characters is shown cleaned
SELECT sb.fault(jsonb_build_object('path', '/api/v1/orders/query', 'status', 200, 'times', -1,
  'body', jsonb_build_object('items', '[]'::jsonb, 'continuationToken', E'tok\nLOG:  forged')));
SELECT state, detail FROM sb.err($$SELECT count(*) FROM spotgo_gss.spotgo_query_orders('{}')$$);
SELECT sb.call('fault/clear', '{}') IS NOT NULL AS cleared;

-- a long listing stops at max_pages (54000), after exactly max_pages requests
SELECT sb.call('spotgo/orders', '{"generate": {"count": 5, "prefix": "MP-"}}') IS NOT NULL AS seeded;
ALTER SERVER spotgo OPTIONS (ADD max_pages '3');
SELECT sb.clear_journal();
SELECT state, message, regexp_replace(detail, '"[^"]*"', '"<token>"') AS detail, hint
FROM sb.err($$SELECT count(*) FROM spotgo_gss.spotgo_query_orders('{"pageSize": 1}')$$);
SELECT count(*) AS requests FROM sb.journal();
-- ... and one of exactly max_pages pages is whole
ALTER SERVER spotgo OPTIONS (SET max_pages '5');
SELECT sb.clear_journal();
SELECT count(*) AS orders FROM spotgo_gss.spotgo_query_orders('{"pageSize": 1}');
SELECT count(*) AS requests FROM sb.journal();
ALTER SERVER spotgo OPTIONS (DROP max_pages);

-- the outbox's lookup of an order id by number follows the same rules: the
-- item fails (and is retried) instead of looping or calling the order gone
SELECT sb.fault('{"path": "/api/v1/orders/query", "status": 200, "times": -1,
  "body": {"items": [{"orderId": "7b5c3c1e-1111-4a4a-9b9b-000000000002", "orderNumber": "LOOP-OTHER"}],
           "continuationToken": "same-token"}}');
SELECT spotgo_gss.enqueue('spotgo.delete_order', '{"orderNumber": "LOOP-9"}') > 0 AS queued;
SELECT sb.clear_journal();
SET client_min_messages = error;
CALL spotgo_gss.drain_outbox();
RESET client_min_messages;
SELECT object_key, state, last_error FROM spotgo_gss.outbox WHERE object_key = 'LOOP-9';
SELECT count(*) AS requests, count(*) FILTER (WHERE j ->> 'method' = 'DELETE') AS deletes FROM sb.journal() j;
SELECT sb.call('fault/clear', '{}') IS NOT NULL AS cleared;
DELETE FROM spotgo_gss.outbox WHERE object_key = 'LOOP-9';

--
-- GoSweetSpot paging that does not end
--
-- two billion pages of nothing: an empty page ends the listing, one request
SELECT sb.clear_journal();
SELECT sb.fault('{"path": "/api/customerorders", "status": 200, "times": -1,
  "body": {"Page": 1, "PageSize": 100, "Pages": 2000000000, "Results": []}}');
SELECT count(*) AS orders FROM spotgo_gss.gss_customer_orders();
SELECT * FROM sb.requests();
SELECT sb.call('fault/clear', '{}') IS NOT NULL AS cleared;
-- two billion pages that each hold an order: more than max_pages, known
-- from the first answer, so it fails at once (54000)
SELECT sb.clear_journal();
SELECT sb.fault('{"path": "/api/customerorders", "status": 200, "times": -1,
  "body": {"Page": 1, "PageSize": 1, "Pages": 2000000000, "Results": [{"packingslipno": "SAME"}]}}');
SELECT * FROM sb.err($$SELECT count(*) FROM spotgo_gss.gss_customer_orders()$$);
SELECT * FROM sb.requests();
SELECT sb.call('fault/clear', '{}') IS NOT NULL AS cleared;
-- a listing that shrank while it was read: page 2 of 3 comes back empty;
-- the rows read so far are the answer, and page 3 is not asked for
SELECT sb.call('gss/orders', '{"generate": {"count": 3, "prefix": "SHR"}}') IS NOT NULL AS seeded;
ALTER SERVER gss OPTIONS (ADD page_size '1');
SELECT sb.clear_journal();
SELECT sb.fault('{"path": "/api/customerorders", "query_contains": "page=2&", "status": 200,
  "body": {"Page": 2, "PageSize": 1, "Pages": 3, "Results": []}}');
SELECT packingslipno FROM spotgo_gss.gss_customer_orders();
SELECT * FROM sb.requests();
-- max_pages below the page count: fails after the first answer
ALTER SERVER gss OPTIONS (ADD max_pages '2');
SELECT sb.clear_journal();
SELECT * FROM sb.err($$SELECT count(*) FROM spotgo_gss.gss_customer_orders()$$);
SELECT * FROM sb.requests();
-- ... at the page count, the listing is whole
ALTER SERVER gss OPTIONS (SET max_pages '3');
SELECT count(*) AS orders FROM spotgo_gss.gss_customer_orders();
ALTER SERVER gss OPTIONS (DROP max_pages, DROP page_size);
-- a page count that is not one, with control characters, is quoted cleaned
SELECT sb.fault(jsonb_build_object('path', '/api/customerorders', 'status', 200,
  'body', jsonb_build_object('Pages', E'3\nLOG:  forged', 'Results', '[]'::jsonb)));
SELECT * FROM sb.err($$SELECT count(*) FROM spotgo_gss.gss_customer_orders()$$);

--
-- bytes that are not UTF-8 never reach a column: 22021, naming the field
--
SELECT sb.raw_fault('/api/customerorders', '{"Pages": 1, "Results": [{"packingslipno": "U1", "consignee": "A~B"}]}');
SELECT * FROM sb.err($$SELECT count(*) FROM spotgo_gss.gss_customer_orders()$$);
-- in the extra jsonb column (a field with no column of its own)
SELECT sb.raw_fault('/api/customerorders', '{"Pages": 1, "Results": [{"packingslipno": "U2", "customField1Value": "~"}]}');
SELECT * FROM sb.err($$SELECT count(*) FROM spotgo_gss.gss_customer_orders()$$);
-- in the products jsonb column, and in the flattened status object
SELECT sb.raw_fault('/api/customerorders', '{"Pages": 1, "Results": [{"packingslipno": "U3"},
  {"packingslipno": "U4", "products": [{"productcode": "P1"}, {"productcode": "P2", "description": "x~"}]}]}');
SELECT * FROM sb.err($$SELECT count(*) FROM spotgo_gss.gss_customer_orders(include_products => true)$$);
SELECT sb.raw_fault('/v2/pendingorders', '[{"packingslipno": "U5", "status": {"Status": "PICKED~"}}]');
SELECT * FROM sb.err($$SELECT count(*) FROM spotgo_gss.gss_pending_orders()$$);
-- in a field name, and outside any string
SELECT sb.raw_fault('/api/customerorders', '{"Pages": 1, "Results": [{"packingslipno": "U6", "odd~name": 1}]}');
SELECT * FROM sb.err($$SELECT count(*) FROM spotgo_gss.gss_customer_orders()$$);
SELECT sb.raw_fault('/api/customerorders', '{"Pages": 1, "Results": []} ~');
SELECT * FROM sb.err($$SELECT count(*) FROM spotgo_gss.gss_customer_orders()$$);
-- one order's status, and the answers of an upload and a deletion
SELECT sb.raw_fault('/v2/order/', '{"packingslipno": "U7", "ticketprintedby": "~"}');
SELECT * FROM sb.err($$SELECT spotgo_gss.gss_order_status('U7')$$);
SELECT sb.raw_fault('/api/customerorders', '[{"packingslipno": "U8", "result": false, "msg": "no~"}]');
SELECT * FROM sb.err($$SELECT * FROM spotgo_gss.gss_upsert_orders('[{"packingslipno": "U8"}]')$$);
SELECT sb.raw_fault('/api/customerorders', '{"U9": "Deleted~"}');
SELECT * FROM sb.err($$SELECT * FROM spotgo_gss.gss_delete_orders(ARRAY['U9'])$$);
-- SpotGo: the order jsonb column of a query, and functions returning jsonb
SELECT sb.raw_fault('/api/v1/orders/query', '{"items": [{"orderId": "7b5c3c1e-1111-4a4a-9b9b-000000000003",
  "orderNumber": "U10", "locations": [{"sequence": 1, "city": "W~"}]}]}');
SELECT * FROM sb.err($$SELECT count(*) FROM spotgo_gss.spotgo_query_orders('{}')$$);
SELECT sb.raw_fault('/api/v1/orders/', '{"orderId": "7b5c3c1e-1111-4a4a-9b9b-000000000003", "carrier": {"name": "~"}}');
SELECT * FROM sb.err($$SELECT spotgo_gss.spotgo_get_order('7b5c3c1e-1111-4a4a-9b9b-000000000003')$$);
SELECT sb.raw_fault('/api/v1/orders/upsert', '{"created": true, "order": {"orderNumber": "U11", "internalComments": "~"}}');
SELECT * FROM sb.err($$SELECT spotgo_gss.spotgo_upsert_order('{"orderNumber": "U11"}')$$);
-- the outbox records the failure instead of storing the answer
SELECT sb.raw_fault('/api/v1/orders/upsert', '{"created": true, "order": {"orderNumber": "U12", "internalComments": "~"}}');
SELECT spotgo_gss.enqueue('spotgo.upsert_order', '{"orderNumber": "U12"}') > 0 AS queued;
SET client_min_messages = error;
CALL spotgo_gss.drain_outbox();
RESET client_min_messages;
SELECT object_key, state, last_status, last_error, response FROM spotgo_gss.outbox WHERE object_key = 'U12';
DELETE FROM spotgo_gss.outbox WHERE object_key = 'U12';
-- valid non-ASCII text still passes
SELECT sb.fault(jsonb_build_object('path', '/api/customerorders', 'status', 200,
  'body', '{"Pages": 1, "Results": [{"packingslipno": "Ü1", "consignee": "Łódź 🚚", "customField1Value": "naïve"}]}'));
SELECT packingslipno, consignee, extra FROM spotgo_gss.gss_customer_orders();

--
-- API text in messages: control characters become spaces, the key is
-- masked before the text is cut
--
-- ProblemDetails field names and messages that forge a log line
SELECT sb.fault(jsonb_build_object('path', '/api/v1/orders', 'method', 'POST', 'status', 400,
  'content_type', 'application/problem+json',
  'body', jsonb_build_object('title', E'One or more validation errors occurred.\r\nLOG:  title',
                             'errors', jsonb_build_object(E'OrderNumber\nLOG:  forged', jsonb_build_array(E'bad\u0007value\u0085here')))));
SELECT * FROM sb.err($$SELECT spotgo_gss.spotgo_create_order('{"orderNumber": "CC-1"}')$$);
-- a value of the wrong type is quoted cleaned
SELECT sb.fault(jsonb_build_object('path', '/api/customerorders', 'status', 200,
  'body', jsonb_build_object('Pages', 1, 'Results', jsonb_build_array(jsonb_build_object('isrural', E'maybe\nLOG:  forged')))));
SELECT * FROM sb.err($$SELECT count(*) FROM spotgo_gss.gss_customer_orders()$$);
-- ... also where a type's input function would quote the value whole
SELECT sb.fault(jsonb_build_object('path', '/api/v1/orders/query', 'status', 200,
  'body', jsonb_build_object('items', jsonb_build_array(jsonb_build_object('orderId', E'x\nLOG:  forged')))));
SELECT * FROM sb.err($$SELECT count(*) FROM spotgo_gss.spotgo_query_orders('{}')$$);
SELECT sb.fault(jsonb_build_object('path', '/v2/order/', 'status', 200,
  'body', jsonb_build_object('packingslipno', 'T1', 'picked', E'today\nLOG:  forged')));
SELECT * FROM sb.err($$SELECT spotgo_gss.gss_order_status('T1')$$);
-- GSS's words recorded on an outbox item (last_error) are cleaned too
SELECT sb.fault(jsonb_build_object('path', '/api/customerorders', 'method', 'DELETE', 'status', 200,
  'body', jsonb_build_object('D1', E'Cannot be deleted.\nLOG:  forged')));
SELECT spotgo_gss.enqueue('gss.delete_order', '{"packingslipno": "D1"}') > 0 AS queued;
SET client_min_messages = error;
CALL spotgo_gss.drain_outbox();
RESET client_min_messages;
SELECT object_key, state, last_error FROM spotgo_gss.outbox WHERE object_key = 'D1';
DELETE FROM spotgo_gss.outbox WHERE object_key = 'D1';
-- a key echoed across the 500-byte cut: masked first, so none of it shows
SELECT sb.fault(jsonb_build_object('path', '/v2/order/', 'status', 403,
  'body', jsonb_build_object('Message', repeat('x', 495) || 'gss-test-key is not allowed')));
SELECT state, detail LIKE '%gss-%' AS key_shown, length(detail) AS length, right(detail, 12) AS tail
FROM sb.err($$SELECT spotgo_gss.gss_order_status('K1')$$);
-- ... and in a body that is not JSON
SELECT sb.fault(jsonb_build_object('path', '/v2/order/', 'status', 403,
  'body', repeat('y', 490) || 'gss-test-key'));
SELECT state, detail LIKE '%gss-%' AS key_shown, right(detail, 8) AS tail
FROM sb.err($$SELECT spotgo_gss.gss_order_status('K1')$$);

--
-- dot segments: "." and ".." in a path are sent encoded, as names
--
SELECT sb.clear_journal();
SELECT spotgo_gss.gss_order_status('..') IS NULL AS unknown_order;
SELECT spotgo_gss.gss_order_status('.') IS NULL AS unknown_order;
SELECT (spotgo_gss.gss_order_status('a..b')) IS NULL AS unknown_order;
SELECT * FROM sb.requests();

--
-- duplicate checks on long arguments are quick (sorted, not pairwise) and
-- send nothing
--
SELECT sb.clear_journal();
SELECT clock_timestamp() AS t0 \gset
SELECT * FROM sb.err($$SELECT * FROM spotgo_gss.gss_delete_orders(
  array(SELECT 'N' || g FROM generate_series(1, 200000) g) || ARRAY['N7', 'N3'])$$);
SELECT * FROM sb.err($$SELECT * FROM spotgo_gss.gss_upsert_orders(
  (SELECT jsonb_agg(jsonb_build_object('packingslipno', 'P' || g)) FROM generate_series(1, 100000) g)
  || '[{"packingslipno": "P5"}]')$$);
SELECT clock_timestamp() - :'t0'::timestamptz < interval '10 seconds' AS quick;
SELECT count(*) AS requests FROM sb.journal();

DROP FUNCTION sb.raw_fault(text, text, int);
DROP FUNCTION sb.requests();
