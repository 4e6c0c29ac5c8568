--
-- stats: spotgo_gss.api_stats counts every API call on its endpoint
-- template (no identifiers, no query string), compared with what the
-- sandbox received; retries and 429s, errors and their status, reset, and
-- who may read it.  This cluster does not preload spotgo_gss, so the view
-- shows this session's calls (and says so once); TAP test 014 checks the
-- shared counters of several sessions and the worker.
--
SELECT sb.reset();
SELECT spotgo_gss.api_stats_reset();
SELECT sb.clear_journal();

-- one call or more of every family
SELECT count(*) AS orders FROM spotgo_gss.gss_customer_orders();
SELECT spotgo_gss.gss_order_status('NO/SUCH ORDER') IS NULL AS unknown;
SELECT count(*) AS pending FROM spotgo_gss.gss_pending_orders();
SELECT packingslipno, accepted FROM spotgo_gss.gss_upsert_orders('[{"packingslipno": "ST-1"}, {"packingslipno": "ST-2"}]');
SELECT packingslipno, deleted FROM spotgo_gss.gss_delete_orders(ARRAY['ST-1']);
SELECT spotgo_gss.spotgo_upsert_order('{"orderNumber": "ST-S1"}') ->> 'created' AS created;
SELECT spotgo_gss.spotgo_get_order('00000000-0000-4000-8000-000000000000') IS NULL AS unknown;
SELECT count(*) >= 1 AS found FROM spotgo_gss.spotgo_query_orders('{"orderNumber": "ST-S1"}');

-- the view, one row per (server, method, endpoint template)
SELECT database = current_database() AS this_db, server, method, endpoint, calls, errors, retries,
       throttled, bytes_received > 0 AS got_bytes, last_status,
       total_ms >= max_ms AND max_ms > 0 AND p95_ms > 0 AS times_ok
FROM spotgo_gss.api_stats ORDER BY server, endpoint, method;
-- the same number of requests as the sandbox received, per method
SELECT s.method, s.calls, j.requests, s.calls = j.requests AS same
FROM (SELECT method, sum(calls) AS calls FROM spotgo_gss.api_stats GROUP BY 1) s
JOIN (SELECT j ->> 'method' AS method, count(*) AS requests FROM sb.journal() j GROUP BY 1) j USING (method)
ORDER BY 1;

-- a 429 then a success: two calls, one retry, one throttled (and the 429 is an error)
SELECT spotgo_gss.api_stats_reset();
SELECT sb.fault('{"path": "/v2/pendingorders", "status": 429, "retry_after": "0", "times": 1}');
SELECT count(*) AS pending FROM spotgo_gss.gss_pending_orders();
SELECT endpoint, calls, errors, retries, throttled, last_status, last_error_at IS NOT NULL AS had_error
FROM spotgo_gss.api_stats;

-- a 401: an error with last_status 401
DO $$
BEGIN
  EXECUTE format('CREATE SERVER gss_badkey FOREIGN DATA WRAPPER spotgo_gss OPTIONS (api %L, base_url %L, site_id %L, max_retries %L)',
                 'gss', sb.url(), '1234', '0');
END $$;
CREATE USER MAPPING FOR CURRENT_USER SERVER gss_badkey OPTIONS (access_key 'wrong-key');
SELECT state FROM sb.err($$SELECT spotgo_gss.gss_order_status('X-1', 'gss_badkey')$$);
SELECT server, endpoint, calls, errors, last_status FROM spotgo_gss.api_stats WHERE server = 'gss_badkey';

-- reset empties it
SELECT spotgo_gss.api_stats_reset();
SELECT count(*) AS entries FROM spotgo_gss.api_stats;

-- another role reads it only through a GRANT (or pg_read_all_stats), and
-- may not reset it
SELECT spotgo_gss.gss_order_status('ST-9') IS NULL AS unknown;
CREATE ROLE regress_stats_reader;
GRANT USAGE ON SCHEMA sb TO regress_stats_reader;
SET ROLE regress_stats_reader;
SELECT state, message FROM sb.err($$SELECT * FROM spotgo_gss.api_stats$$);
SELECT state, message FROM sb.err($$SELECT * FROM spotgo_gss.api_stats_rows()$$);
SELECT state, message FROM sb.err($$SELECT spotgo_gss.api_stats_reset()$$);
RESET ROLE;
GRANT SELECT ON spotgo_gss.api_stats TO regress_stats_reader;
SET ROLE regress_stats_reader;
SELECT count(*) AS entries FROM spotgo_gss.api_stats;
RESET ROLE;
REVOKE SELECT ON spotgo_gss.api_stats FROM regress_stats_reader;
GRANT pg_read_all_stats TO regress_stats_reader;
SET ROLE regress_stats_reader;
SELECT count(*) AS entries FROM spotgo_gss.api_stats;
RESET ROLE;

REVOKE pg_read_all_stats FROM regress_stats_reader;
REVOKE USAGE ON SCHEMA sb FROM regress_stats_reader;
DROP ROLE regress_stats_reader;
DROP USER MAPPING FOR CURRENT_USER SERVER gss_badkey;
DROP SERVER gss_badkey;
SELECT sb.call('fault/clear', '{}') IS NOT NULL AS cleared;
