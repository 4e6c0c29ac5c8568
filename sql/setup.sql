--
-- setup: the extension, helpers that drive the sandbox API, and the
-- default servers the other suites use.
--
-- The sandbox (test/sandbox/server.py) listens on 127.0.0.1:$SANDBOX_PORT;
-- $SANDBOX_CTL is its control client.  Both come from the environment of
-- the test run (scripts/test), which this cluster inherits.
--
-- installed as 0.1.0 and updated, so every suite runs against an updated extension
CREATE EXTENSION spotgo_gss VERSION '0.1.0';
ALTER EXTENSION spotgo_gss UPDATE;
SELECT extname, extversion, extnamespace::regnamespace AS schema FROM pg_extension WHERE extname = 'spotgo_gss';

CREATE SCHEMA sb;
CREATE TABLE sb.out (line text);

-- an environment variable of the test run (names: capitals and _ only)
CREATE FUNCTION sb.env(name text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  r text;
BEGIN
  IF name !~ '^[A-Z_]+$' THEN
    RAISE EXCEPTION 'bad variable name %', name;
  END IF;
  DELETE FROM sb.out;
  EXECUTE format('COPY sb.out FROM PROGRAM %L', 'echo "$' || name || '"');
  SELECT line INTO r FROM sb.out;
  RETURN r;
END $$;

-- call a control endpoint of the sandbox; the argument travels hex-encoded;
-- ctl_options go to the control client (another port, a CA to trust)
CREATE FUNCTION sb.call(cmd text, arg jsonb DEFAULT NULL, ctl_options text DEFAULT '') RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  r text;
BEGIN
  DELETE FROM sb.out;
  EXECUTE format('COPY sb.out FROM PROGRAM %L',
                 'python3 "$SANDBOX_CTL" ' || ctl_options || ' ' || cmd ||
                 CASE WHEN arg IS NULL THEN ''
                      ELSE ' ' || encode(convert_to(arg::text, 'UTF8'), 'hex') END);
  SELECT line INTO r FROM sb.out;
  RETURN r::jsonb;
END $$;

CREATE FUNCTION sb.url() RETURNS text
LANGUAGE sql AS $$ SELECT 'http://127.0.0.1:' || sb.env('SANDBOX_PORT') $$;

CREATE FUNCTION sb.reset() RETURNS void
LANGUAGE sql AS $$ SELECT sb.call('reset', '{}') $$;

CREATE FUNCTION sb.clear_journal() RETURNS void
LANGUAGE sql AS $$ SELECT sb.call('journal/clear', '{}') $$;

CREATE FUNCTION sb.fault(spec jsonb) RETURNS void
LANGUAGE sql AS $$ SELECT sb.call('fault', spec) $$;

-- requests the sandbox received, in order
CREATE FUNCTION sb.journal() RETURNS SETOF jsonb
LANGUAGE sql AS $$ SELECT jsonb_array_elements(sb.call('journal') -> 'entries') $$;

-- run a statement and report the error it raised, without CONTEXT or
-- LOCATION (both vary), so that SQLSTATE, DETAIL and HINT can be expected
CREATE FUNCTION sb.err(query text)
RETURNS TABLE (state text, message text, detail text, hint text)
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE query;
  state := 'none';
  RETURN NEXT;
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
                          detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
  detail := NULLIF(detail, '');
  hint := NULLIF(hint, '');
  RETURN NEXT;
END $$;

SELECT sb.reset();

DO $$
BEGIN
  EXECUTE format('CREATE SERVER gss FOREIGN DATA WRAPPER spotgo_gss OPTIONS (api %L, base_url %L, site_id %L, support_email %L, requests_per_minute %L)',
                 'gss', sb.url(), '1234', 'ops@example.com', '0');
  EXECUTE format('CREATE SERVER spotgo FOREIGN DATA WRAPPER spotgo_gss OPTIONS (api %L, base_url %L)',
                 'spotgo', sb.url());
END $$;
CREATE USER MAPPING FOR CURRENT_USER SERVER gss OPTIONS (access_key 'gss-test-key');
CREATE USER MAPPING FOR CURRENT_USER SERVER spotgo OPTIONS (api_key 'spotgo-test-key');

-- the sandbox answers
SELECT count(*) FROM spotgo_gss.gss_customer_orders();

-- every function has a comment: \df+ is the manual
SELECT p.oid::regprocedure AS function
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'spotgo_gss' AND obj_description(p.oid, 'pg_proc') IS NULL;
