--
-- errors: HTTP failures, retries, timeouts, cancel, size cap, malformed
-- bodies, and the SQLSTATE of each (the table in doc/reference.md).
--
SELECT sb.reset();
SELECT spotgo_gss.gss_upsert_order('{"packingslipno": "E1", "consignee": "Err Ltd"}');

-- 401: the key was refused; 28000 with a hint, no key in the message
ALTER USER MAPPING FOR CURRENT_USER SERVER gss OPTIONS (SET access_key 'not-the-key');
SELECT * FROM sb.err($$SELECT count(*) FROM spotgo_gss.gss_customer_orders()$$);
ALTER USER MAPPING FOR CURRENT_USER SERVER gss OPTIONS (SET access_key 'gss-test-key');
-- an API that echoes the key in its answer: the key is masked in DETAIL
SELECT sb.fault('{"path": "/v2/order/", "status": 403, "body": "{\"Message\": \"Key gss-test-key is not allowed for site 1234.\"}", "times": 1}');
SELECT state, detail FROM sb.err($$SELECT spotgo_gss.gss_order_status('X')$$);
-- a wrong site_id is refused the same way
ALTER SERVER gss OPTIONS (SET site_id '9999');
SELECT * FROM sb.err($$SELECT count(*) FROM spotgo_gss.gss_customer_orders()$$);
ALTER SERVER gss OPTIONS (SET site_id '1234');

-- 429 with Retry-After: 1, then success: retried once, succeeds
SELECT sb.clear_journal();
SELECT sb.fault('{"path": "/api/customerorders", "status": 429, "retry_after": "1", "times": 1}');
SELECT count(*) FROM spotgo_gss.gss_customer_orders();
SELECT (j ->> 'status')::int AS status FROM sb.journal() j ORDER BY (j ->> 'seq')::int;

-- 503 three times, then success: max_retries 3 succeeds (4 requests)
SELECT sb.clear_journal();
SELECT sb.fault('{"path": "/api/customerorders", "status": 503, "times": 3}');
SELECT count(*) FROM spotgo_gss.gss_customer_orders();
SELECT (j ->> 'status')::int AS status FROM sb.journal() j ORDER BY (j ->> 'seq')::int;
-- ... and max_retries 1 fails with 38000 after 2 requests
ALTER SERVER gss OPTIONS (ADD max_retries '1');
SELECT sb.fault('{"path": "/api/customerorders", "status": 503, "times": 3, "body": "{\"Message\": \"Service is down for maintenance.\"}"}');
SELECT sb.clear_journal();
SELECT * FROM sb.err($$SELECT count(*) FROM spotgo_gss.gss_customer_orders()$$);
SELECT count(*) AS requests FROM sb.journal();
SELECT sb.call('fault/clear', '{}') IS NOT NULL AS cleared;

-- 4xx other than 429 is not retried; the API's words are in DETAIL
SELECT sb.clear_journal();
SELECT sb.fault('{"path": "/api/customerorders", "method": "PUT", "status": 400, "body": "{\"Message\": \"The request is invalid.\"}"}');
SELECT * FROM sb.err($$SELECT * FROM spotgo_gss.gss_upsert_orders('[{"packingslipno": "E2"}]')$$);
SELECT sb.fault('{"path": "/api/customerorders", "method": "DELETE", "status": 409, "body": "{\"Message\": \"Max delete limit is 50 packing slip numbers.\"}"}');
SELECT * FROM sb.err($$SELECT * FROM spotgo_gss.gss_delete_orders(ARRAY['E1'])$$);
SELECT sb.fault('{"path": "/v2/order/", "status": 500, "body": "<html><body>Internal\nServer Error</body></html>"}');
SELECT * FROM sb.err($$SELECT spotgo_gss.gss_order_status('E1')$$);
SELECT sb.fault('{"path": "/v2/pendingorders", "status": 502, "body": "", "times": 2}');
SELECT * FROM sb.err($$SELECT count(*) FROM spotgo_gss.gss_pending_orders()$$);
SELECT count(*) AS requests FROM sb.journal();
ALTER SERVER gss OPTIONS (DROP max_retries);

-- a cut connection on a GET is retried
SELECT sb.clear_journal();
SELECT sb.fault('{"path": "/api/customerorders", "cut": true, "times": 1}');
SELECT count(*) FROM spotgo_gss.gss_customer_orders();
SELECT j ->> 'status' AS status FROM sb.journal() j ORDER BY (j ->> 'seq')::int;

-- a slow API: timeout_ms 500 against a 10 s delay fails fast, without retries
ALTER SERVER gss OPTIONS (ADD timeout_ms '500');
SELECT sb.fault('{"path": "/api/customerorders", "delay_ms": 10000, "times": 1}');
SELECT clock_timestamp() AS t0 \gset
SELECT * FROM sb.err($$SELECT count(*) FROM spotgo_gss.gss_customer_orders()$$);
SELECT clock_timestamp() - :'t0'::timestamptz < interval '5 seconds' AS failed_fast;
ALTER SERVER gss OPTIONS (DROP timeout_ms);
SELECT sb.call('fault/clear', '{}') IS NOT NULL AS cleared;

-- statement_timeout cancels a slow transfer (57014, raised by the server)
SELECT sb.fault('{"path": "/api/customerorders", "delay_ms": 10000, "times": 1}');
SELECT clock_timestamp() AS t0 \gset
SET statement_timeout = '300ms';
SELECT * FROM sb.err($$SELECT count(*) FROM spotgo_gss.gss_customer_orders()$$);
RESET statement_timeout;
SELECT clock_timestamp() - :'t0'::timestamptz < interval '5 seconds' AS cancelled_promptly;
-- the session is fine afterwards, the handle reused
SELECT count(*) FROM spotgo_gss.gss_customer_orders();
SELECT sb.call('fault/clear', '{}') IS NOT NULL AS cleared;

-- the back-off sleep is cancelled too
SELECT sb.fault('{"path": "/api/customerorders", "status": 503, "retry_after": "20", "times": 1}');
SELECT clock_timestamp() AS t0 \gset
SET statement_timeout = '500ms';
SELECT * FROM sb.err($$SELECT count(*) FROM spotgo_gss.gss_customer_orders()$$);
RESET statement_timeout;
SELECT clock_timestamp() - :'t0'::timestamptz < interval '5 seconds' AS cancelled_promptly;
SELECT sb.call('fault/clear', '{}') IS NOT NULL AS cleared;

-- the client-side rate limit waits, and that wait is cancellable too
ALTER SERVER gss OPTIONS (SET requests_per_minute '1');
SELECT (spotgo_gss.gss_order_status('E1')).packingslipno AS first_call;
SET statement_timeout = '500ms';
SELECT * FROM sb.err($$SELECT spotgo_gss.gss_order_status('E1')$$);
RESET statement_timeout;
ALTER SERVER gss OPTIONS (SET requests_per_minute '0');

-- malformed JSON and over-size bodies
SELECT sb.fault('{"path": "/api/customerorders", "malformed": true, "times": 1}');
SELECT * FROM sb.err($$SELECT count(*) FROM spotgo_gss.gss_customer_orders()$$);
SELECT sb.fault('{"path": "/v2/pendingorders", "status": 200, "body": "{\"not\": \"an array\"}", "times": 1}');
SELECT * FROM sb.err($$SELECT count(*) FROM spotgo_gss.gss_pending_orders()$$);
SELECT sb.fault('{"path": "/v2/order/", "status": 200, "body": "{\"packingslipno\": \"E1\", \"picked\": \"yesterday-ish\"}", "times": 1}');
SELECT * FROM sb.err($$SELECT spotgo_gss.gss_order_status('E1')$$);
-- escapes are decoded (surrogate pairs too); broken ones and trailing junk are refused
SELECT sb.fault(jsonb_build_object('path', '/api/customerorders', 'status', 200, 'times', 1,
  'body', '{"Pages": 1, "Results": [{"packingslipno": "E\u0301SC", "consignee": "caf\u00e9 \ud83d\ude9a \"quoted\"\\back\/slash", "delvinstructions": "line1\nline2\ttab"}]}'));
SELECT packingslipno, consignee, delvinstructions, length(packingslipno) AS chars FROM spotgo_gss.gss_customer_orders();
SELECT sb.fault('{"path": "/api/customerorders", "status": 200, "body": "{\"Results\": [{\"consignee\": \"half \\ud83d pair\"}]}", "times": 1}');
SELECT * FROM sb.err($$SELECT count(*) FROM spotgo_gss.gss_customer_orders()$$);
SELECT sb.fault('{"path": "/api/customerorders", "status": 200, "body": "{\"Results\": [{\"consignee\": \"nul \\u0000 inside\"}]}", "times": 1}');
SELECT * FROM sb.err($$SELECT count(*) FROM spotgo_gss.gss_customer_orders()$$);
SELECT sb.fault('{"path": "/api/customerorders", "status": 200, "body": "{\"Results\": []} trailing", "times": 1}');
SELECT * FROM sb.err($$SELECT count(*) FROM spotgo_gss.gss_customer_orders()$$);
SELECT sb.fault('{"path": "/api/customerorders", "status": 200, "body": "{\"Results\": [{\"packingslipno\" 1}]}", "times": 1}');
SELECT * FROM sb.err($$SELECT count(*) FROM spotgo_gss.gss_customer_orders()$$);
SET spotgo_gss.max_response_bytes = '64kB';
SELECT sb.fault('{"path": "/api/customerorders", "huge_bytes": 300000, "times": 1}');
SELECT * FROM sb.err($$SELECT count(*) FROM spotgo_gss.gss_customer_orders()$$);
RESET spotgo_gss.max_response_bytes;
-- GSS may answer an unknown order with 200 and an empty body or null
SELECT sb.fault('{"path": "/v2/order/", "status": 200, "body": "", "times": 1}');
SELECT spotgo_gss.gss_order_status('E1')::text IS NULL AS empty_body_is_null;
SELECT sb.fault('{"path": "/v2/order/", "status": 200, "body": "null", "times": 1}');
SELECT spotgo_gss.gss_order_status('E1')::text IS NULL AS null_body_is_null;

-- nothing listens: 08006 after the retries (max_retries 0 here)
CREATE SERVER gss_down FOREIGN DATA WRAPPER spotgo_gss
  OPTIONS (api 'gss', base_url 'http://127.0.0.1:1', site_id '1', max_retries '0', requests_per_minute '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER gss_down OPTIONS (access_key 'secret-down-key');
SELECT state, message, regexp_replace(detail, '\d+ ms', 'N ms') AS detail, hint
FROM sb.err($$SELECT spotgo_gss.gss_order_status('E1', 'gss_down')$$);
SELECT detail LIKE '%secret-down-key%' AS key_in_detail
FROM sb.err($$SELECT spotgo_gss.gss_order_status('E1', 'gss_down')$$);

-- an https URL to a plain-HTTP peer fails the TLS handshake: 08006
DO $$ BEGIN
  EXECUTE format('CREATE SERVER gss_tls FOREIGN DATA WRAPPER spotgo_gss OPTIONS (api %L, base_url %L, site_id %L, max_retries %L)',
                 'gss', replace(sb.url(), 'http:', 'https:'), '1', '0');
END $$;
CREATE USER MAPPING FOR CURRENT_USER SERVER gss_tls OPTIONS (access_key 'k');
SELECT state, message FROM sb.err($$SELECT spotgo_gss.gss_order_status('E1', 'gss_tls')$$);
DROP SERVER gss_down, gss_tls CASCADE;

-- errors caught in a subtransaction leave a usable handle and connection
SELECT sb.clear_journal();
SELECT sb.fault('{"path": "/v2/order/", "status": 400, "times": 20}');
DO $$
DECLARE n int := 0;
BEGIN
  FOR i IN 1..20 LOOP
    BEGIN
      PERFORM spotgo_gss.gss_order_status('E1');
    EXCEPTION WHEN invalid_parameter_value THEN n := n + 1;
    END;
  END LOOP;
  RAISE NOTICE 'caught % errors', n;
END $$;
SELECT (spotgo_gss.gss_order_status('E1')).consignee;
SELECT count(*) AS requests, count(DISTINCT j ->> 'conn') AS connections FROM sb.journal() j;
