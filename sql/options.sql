--
-- options: validation of server and user-mapping options, GUCs, and the
-- lookup of a server and the caller's user mapping.
--

-- a server needs api
CREATE SERVER s1 FOREIGN DATA WRAPPER spotgo_gss;
CREATE SERVER s1 FOREIGN DATA WRAPPER spotgo_gss OPTIONS (api 'fedex');
-- unknown options name the valid ones
CREATE SERVER s1 FOREIGN DATA WRAPPER spotgo_gss OPTIONS (api 'gss', site_id '1', colour 'red');
-- gss needs site_id
CREATE SERVER s1 FOREIGN DATA WRAPPER spotgo_gss OPTIONS (api 'gss');
-- options of the other API
CREATE SERVER s1 FOREIGN DATA WRAPPER spotgo_gss OPTIONS (api 'gss', site_id '1', api_version '1.0');
CREATE SERVER s1 FOREIGN DATA WRAPPER spotgo_gss OPTIONS (api 'spotgo', site_id '1');
-- malformed values
CREATE SERVER s1 FOREIGN DATA WRAPPER spotgo_gss OPTIONS (api 'gss', site_id '1', base_url 'ftp://example.com');
CREATE SERVER s1 FOREIGN DATA WRAPPER spotgo_gss OPTIONS (api 'gss', site_id '1', base_url 'https://user:secret@example.com');
CREATE SERVER s1 FOREIGN DATA WRAPPER spotgo_gss OPTIONS (api 'gss', site_id '1', base_url 'https://example.com/api?x=1');
CREATE SERVER s1 FOREIGN DATA WRAPPER spotgo_gss OPTIONS (api 'gss', site_id '1', timeout_ms 'soon');
CREATE SERVER s1 FOREIGN DATA WRAPPER spotgo_gss OPTIONS (api 'gss', site_id '1', timeout_ms '0');
CREATE SERVER s1 FOREIGN DATA WRAPPER spotgo_gss OPTIONS (api 'gss', site_id '1', max_retries '-1');
CREATE SERVER s1 FOREIGN DATA WRAPPER spotgo_gss OPTIONS (api 'gss', site_id '1', verify_tls 'maybe');
CREATE SERVER s1 FOREIGN DATA WRAPPER spotgo_gss OPTIONS (api 'gss', site_id '1', support_email 'nobody');
CREATE SERVER s1 FOREIGN DATA WRAPPER spotgo_gss OPTIONS (api 'gss', site_id '1', ca_file 'relative.pem');
CREATE SERVER s1 FOREIGN DATA WRAPPER spotgo_gss OPTIONS (api 'spotgo', api_key_header 'X Key');
CREATE SERVER s1 FOREIGN DATA WRAPPER spotgo_gss OPTIONS (api 'spotgo', api_version 'v1');
CREATE SERVER s1 FOREIGN DATA WRAPPER spotgo_gss OPTIONS (api 'spotgo', sync_filter '[1]');
CREATE SERVER s1 FOREIGN DATA WRAPPER spotgo_gss OPTIONS (api 'spotgo', sync_filter '{bad');
-- a header value cannot smuggle another header
CREATE SERVER s1 FOREIGN DATA WRAPPER spotgo_gss OPTIONS (api 'gss', site_id E'1\r\nX-Evil: 1');

-- valid servers, every option
CREATE SERVER s_gss FOREIGN DATA WRAPPER spotgo_gss
  OPTIONS (api 'gss', base_url 'https://api.example.com/prefix/', site_id '77', support_email 'ops@example.com',
           timeout_ms '1000', connect_timeout_ms '500', max_retries '0', requests_per_minute '60',
           page_size '500', batch_size '10', verify_tls 'true', ca_file '/etc/ssl/certs/ca-certificates.crt');
CREATE SERVER s_spotgo FOREIGN DATA WRAPPER spotgo_gss
  OPTIONS (api 'spotgo', api_version '1.0', api_key_header 'X-Api-Key', sync_filter '{"status": ["Created"]}',
           max_concurrency '4', page_size '50');
-- ALTER is validated against the whole resulting option list
ALTER SERVER s_gss OPTIONS (DROP site_id);
ALTER SERVER s_gss OPTIONS (SET page_size 'many');
ALTER SERVER s_gss OPTIONS (SET page_size '250');
ALTER SERVER s_spotgo OPTIONS (SET api 'gss');

-- user mappings: only the keys
CREATE USER MAPPING FOR CURRENT_USER SERVER s_gss OPTIONS (password 'x');
CREATE USER MAPPING FOR CURRENT_USER SERVER s_gss OPTIONS (access_key '');
CREATE USER MAPPING FOR CURRENT_USER SERVER s_gss OPTIONS (access_key 'k');
CREATE USER MAPPING FOR CURRENT_USER SERVER s_spotgo OPTIONS (api_key 'k');
-- the wrapper itself takes no options
ALTER FOREIGN DATA WRAPPER spotgo_gss OPTIONS (api 'gss');

-- GUCs
SHOW spotgo_gss.gss_server;
SHOW spotgo_gss.spotgo_server;
SHOW spotgo_gss.max_response_bytes;
-- (the message's form differs between majors: its SQLSTATE only)
SELECT state FROM sb.err($$SET spotgo_gss.max_response_bytes = '10'$$);
SET spotgo_gss.no_such_setting = 'x';
RESET spotgo_gss.max_response_bytes;

-- lookup: missing server, wrong wrapper, wrong API
SELECT * FROM sb.err($$SELECT spotgo_gss.gss_order_status('X', 'nosuch')$$);
CREATE FOREIGN DATA WRAPPER other_fdw;
CREATE SERVER other FOREIGN DATA WRAPPER other_fdw;
SELECT * FROM sb.err($$SELECT spotgo_gss.gss_order_status('X', 'other')$$);
SELECT * FROM sb.err($$SELECT spotgo_gss.gss_order_status('X', 's_spotgo')$$);
SET spotgo_gss.gss_server = 'nosuch';
SELECT * FROM sb.err($$SELECT spotgo_gss.gss_order_status('X')$$);
SET spotgo_gss.gss_server = '';
SELECT * FROM sb.err($$SELECT spotgo_gss.gss_order_status('X')$$);
RESET spotgo_gss.gss_server;

-- a role without USAGE, then without a user mapping
CREATE ROLE regress_spotgo_user;
GRANT USAGE ON SCHEMA sb TO regress_spotgo_user;
GRANT ALL ON sb.out TO regress_spotgo_user;
SET ROLE regress_spotgo_user;
SELECT * FROM sb.err($$SELECT spotgo_gss.gss_order_status('X')$$);
RESET ROLE;
GRANT USAGE ON FOREIGN SERVER gss TO regress_spotgo_user;
SET ROLE regress_spotgo_user;
SELECT * FROM sb.err($$SELECT spotgo_gss.gss_order_status('X')$$);
-- the key of another role's mapping is not visible
SELECT srvname, usename, umoptions FROM pg_user_mappings WHERE srvname IN ('gss', 's_gss') ORDER BY 1;
RESET ROLE;
-- a mapping without the key
CREATE USER MAPPING FOR regress_spotgo_user SERVER gss OPTIONS (api_key 'wrong-kind');
SET ROLE regress_spotgo_user;
SELECT * FROM sb.err($$SELECT spotgo_gss.gss_order_status('X')$$);
RESET ROLE;
-- a PUBLIC mapping serves every role
DROP USER MAPPING FOR regress_spotgo_user SERVER gss;
CREATE USER MAPPING FOR PUBLIC SERVER gss OPTIONS (access_key 'gss-test-key');
SET ROLE regress_spotgo_user;
SELECT spotgo_gss.gss_order_status('X')::text IS NULL AS unknown_order;
RESET ROLE;
SELECT (j -> 'headers' ->> 'access_key') AS access_key_in_journal
FROM sb.journal() j ORDER BY (j ->> 'seq')::int DESC LIMIT 1;

DROP USER MAPPING FOR PUBLIC SERVER gss;
REVOKE ALL ON FOREIGN SERVER gss FROM regress_spotgo_user;
REVOKE ALL ON sb.out FROM regress_spotgo_user;
REVOKE ALL ON SCHEMA sb FROM regress_spotgo_user;
DROP ROLE regress_spotgo_user;
DROP SERVER s_gss, s_spotgo CASCADE;
DROP SERVER other;
DROP FOREIGN DATA WRAPPER other_fdw;
