--
-- tls: checking the API's certificate, against a second sandbox that speaks
-- https on 127.0.0.1:$SANDBOX_TLS_PORT with a certificate for 127.0.0.1 and
-- localhost, signed by a throwaway CA whose certificate is $SANDBOX_CA_FILE
-- (scripts/test makes both).  Ports and paths change with every run: they
-- are never printed.
--

-- https://HOST:$SANDBOX_TLS_PORT
CREATE FUNCTION sb.tls_url(host text) RETURNS text
LANGUAGE sql AS $$ SELECT 'https://' || host || ':' || sb.env('SANDBOX_TLS_PORT') $$;

-- $SANDBOX_CA_FILE: the CA certificate that signed the TLS sandbox's
CREATE FUNCTION sb.tls_ca_file() RETURNS text
LANGUAGE sql AS $$ SELECT sb.env('SANDBOX_CA_FILE') $$;

-- sb.call() for the TLS sandbox: ctl.py over https, trusting the CA
CREATE FUNCTION sb.tls_call(cmd text, arg jsonb DEFAULT NULL) RETURNS jsonb
LANGUAGE sql AS $$
  SELECT sb.call(cmd, arg, '--port "$SANDBOX_TLS_PORT" --tls-ca "$SANDBOX_CA_FILE"')
$$;

-- requests the TLS sandbox received, in order
CREATE FUNCTION sb.tls_journal() RETURNS SETOF jsonb
LANGUAGE sql AS $$ SELECT jsonb_array_elements(sb.tls_call('journal') -> 'entries') $$;

-- the run gave us a TLS sandbox and an absolute CA path
SELECT sb.tls_url('127.0.0.1') ~ '^https://127\.0\.0\.1:[0-9]+$' AS tls_port_set,
       sb.tls_ca_file() LIKE '/%' AS ca_file_set;
SELECT sb.tls_call('reset', '{}');
SELECT sb.tls_call('gss/orders', '{"generate": {"count": 3, "prefix": "TLS"}}') ->> 'count' AS seeded;

DO $$ BEGIN
  EXECUTE format('CREATE SERVER gss_tls FOREIGN DATA WRAPPER spotgo_gss OPTIONS (api %L, base_url %L, site_id %L, requests_per_minute %L, max_retries %L)',
                 'gss', sb.tls_url('127.0.0.1'), '1234', '0', '0');
END $$;
CREATE USER MAPPING FOR CURRENT_USER SERVER gss_tls OPTIONS (access_key 'gss-test-key');

-- default options (verify_tls on, the system's CA bundle): the throwaway CA
-- is unknown, so the certificate is refused before any HTTP request: 08006,
-- with the hint about ca_file (curl's detail text varies: only its start)
SELECT state, message,
       regexp_replace(detail, '\(s\): .*$', '(s): ...') AS detail,
       detail ILIKE '%certificate%' AS detail_names_certificate, hint
FROM sb.err($$SELECT count(*) FROM spotgo_gss.gss_customer_orders(server => 'gss_tls')$$);
SELECT count(*) AS requests FROM sb.tls_journal();

-- ca_file names the CA: verified, the request goes through
DO $$ BEGIN
  EXECUTE format('ALTER SERVER gss_tls OPTIONS (ADD ca_file %L)', sb.tls_ca_file());
END $$;
SELECT count(*) FROM spotgo_gss.gss_customer_orders(server => 'gss_tls');
SELECT j ->> 'method' AS method, j ->> 'path' AS path, j ->> 'auth' AS auth,
       (j ->> 'status')::int AS status
FROM sb.tls_journal() j ORDER BY (j ->> 'seq')::int;

-- verify_tls 'false': the certificate is not checked at all, no ca_file needed
SELECT sb.tls_call('journal/clear', '{}');
ALTER SERVER gss_tls OPTIONS (DROP ca_file, ADD verify_tls 'false');
SELECT packingslipno FROM spotgo_gss.gss_customer_orders(server => 'gss_tls') ORDER BY 1;
SELECT count(*) AS requests FROM sb.tls_journal();

-- verify_tls 'true' again, without ca_file: refused again
ALTER SERVER gss_tls OPTIONS (SET verify_tls 'true');
SELECT state, message, hint
FROM sb.err($$SELECT count(*) FROM spotgo_gss.gss_customer_orders(server => 'gss_tls')$$);

-- the host name is checked too: localhost is in the certificate
SELECT sb.tls_call('journal/clear', '{}');
DO $$ BEGIN
  EXECUTE format('ALTER SERVER gss_tls OPTIONS (DROP verify_tls, SET base_url %L, ADD ca_file %L)',
                 sb.tls_url('localhost'), sb.tls_ca_file());
END $$;
SELECT count(*) FROM spotgo_gss.gss_customer_orders(server => 'gss_tls');
SELECT j ->> 'path' AS path, (j ->> 'status')::int AS status,
       j -> 'headers' ->> 'host' LIKE 'localhost:%' AS host_is_localhost
FROM sb.tls_journal() j ORDER BY (j ->> 'seq')::int;
-- and a name the certificate does not carry is refused, even with ca_file
-- (libcurl resolves any *.localhost to the loopback address by itself)
SELECT sb.tls_call('journal/clear', '{}');
DO $$ BEGIN
  EXECUTE format('ALTER SERVER gss_tls OPTIONS (SET base_url %L)', sb.tls_url('not-in-cert.localhost'));
END $$;
SELECT state, message, hint
FROM sb.err($$SELECT count(*) FROM spotgo_gss.gss_customer_orders(server => 'gss_tls')$$);
SELECT count(*) AS requests FROM sb.tls_journal();

DROP SERVER gss_tls CASCADE;
DROP FUNCTION sb.tls_journal(), sb.tls_call(text, jsonb), sb.tls_ca_file(), sb.tls_url(text);
