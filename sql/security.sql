--
-- security: what a hostile ordinary role can try, and why it gets nowhere.
--   * operators and functions planted in its own schema or in public, with
--     the search_path pointing at them, are never called by the extension's
--     code (which runs as the outbox's owner, the superuser calling
--     drain_outbox(), the worker, or pg_cron's job owner);
--   * a trigger's mapping function is checked: signature, result type,
--     EXECUTE right of the firing role, and resolved without the caller's
--     search_path;
--   * one role's enqueue never changes or reveals another role's item;
--   * retry_dead() does not revive an item superseded by a later delivered
--     change;
--   * an answer that cannot be recorded counts as a failed attempt of its
--     item only.
--
SELECT sb.reset();
SET spotgo_gss.max_attempts = 3;

CREATE ROLE regress_mallory;
CREATE ROLE regress_alice;
GRANT USAGE ON FOREIGN SERVER gss, spotgo TO regress_mallory, regress_alice;
CREATE USER MAPPING FOR regress_mallory SERVER gss OPTIONS (access_key 'gss-test-key');
CREATE USER MAPPING FOR regress_alice SERVER gss OPTIONS (access_key 'gss-test-key');
CREATE SCHEMA regress_mallory AUTHORIZATION regress_mallory;
-- a cluster upgraded from before PostgreSQL 15 lets every role create in public
GRANT CREATE ON SCHEMA public TO regress_mallory;
-- the trap: whoever runs it leaves a line (and, were it a superuser, would
-- make mallory one)
CREATE TABLE public.regress_trap (who text, what text);
GRANT INSERT ON public.regress_trap TO PUBLIC;

SET ROLE regress_mallory;
CREATE FUNCTION regress_mallory.evil_plus(a int, b int) RETURNS int
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO public.regress_trap VALUES (current_user, 'int + int');
  BEGIN
    EXECUTE 'ALTER ROLE regress_mallory SUPERUSER';
  EXCEPTION WHEN insufficient_privilege THEN NULL;
  END;
  RETURN a OPERATOR(pg_catalog.+) b;
END $$;
CREATE OPERATOR regress_mallory.+ (LEFTARG = int, RIGHTARG = int, FUNCTION = regress_mallory.evil_plus);
-- an exact match for make_interval(secs => int), which delivery's SQL used
CREATE FUNCTION public.make_interval(secs int) RETURNS interval
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO public.regress_trap VALUES (current_user, 'make_interval');
  BEGIN
    EXECUTE 'ALTER ROLE regress_mallory SUPERUSER';
  EXCEPTION WHEN insufficient_privilege THEN NULL;
  END;
  RETURN pg_catalog.make_interval(secs => secs::double precision);
END $$;

-- 1. enqueue twice (the second replaces the first: version + 1) with the
-- planted operators first in the search_path
SET search_path = regress_mallory, pg_catalog;
SELECT spotgo_gss.enqueue('gss.upsert_order', '{"packingslipno": "ESC-1"}') > 0 AS queued;
SELECT spotgo_gss.enqueue('gss.upsert_order', '{"packingslipno": "ESC-1", "consignee": "Again"}') > 0 AS queued;
SELECT object_key, version FROM spotgo_gss.outbox WHERE object_key = 'ESC-1';
-- the same through a trigger, row and statement level
CREATE TABLE regress_mallory.orders (packingslipno text PRIMARY KEY, consignee text);
CREATE TRIGGER orders_push AFTER INSERT OR UPDATE OR DELETE ON regress_mallory.orders
  FOR EACH ROW EXECUTE FUNCTION spotgo_gss.push_gss_order();
INSERT INTO regress_mallory.orders VALUES ('ESC-2', 'One');
UPDATE regress_mallory.orders SET consignee = 'Two';
CREATE TABLE regress_mallory.bulk (packingslipno text PRIMARY KEY, consignee text);
CREATE TRIGGER bulk_push AFTER INSERT ON regress_mallory.bulk REFERENCING NEW TABLE AS n
  FOR EACH STATEMENT EXECUTE FUNCTION spotgo_gss.push_gss_order();
INSERT INTO regress_mallory.bulk VALUES ('ESC-3', 'a'), ('ESC-4', 'b');
INSERT INTO regress_mallory.bulk VALUES ('ESC-5', 'c');
RESET search_path;
RESET ROLE;

-- 2. the superuser delivers (as pg_cron or the worker would), with the
-- default search_path that reaches public
SET search_path = "$user", public;
CALL spotgo_gss.drain_outbox();
SELECT spotgo_gss.retry_dead();
RESET search_path;
SELECT object_key, state, version FROM spotgo_gss.outbox
WHERE object_key LIKE 'ESC-%' ORDER BY object_key;
-- nothing planted ran, and mallory is no superuser
SELECT count(*) AS trap_sprung FROM public.regress_trap;
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_mallory';

-- every routine of the extension pins its search_path, except the triggers
-- and drain_outbox(), which pin it in C (a procedure with SET cannot commit)
SELECT p.oid::regprocedure AS unpinned
FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'spotgo_gss'
WHERE NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false)
ORDER BY 1::text;

-- 3. mapping functions are checked before they are called
CREATE TABLE regress_loads (order_number text PRIMARY KEY, weight int);
CREATE FUNCTION regress_loads_int(l regress_loads) RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE FUNCTION regress_loads_text(l text) RETURNS jsonb LANGUAGE sql AS 'SELECT NULL::jsonb';
CREATE FUNCTION regress_loads_set(l regress_loads) RETURNS SETOF jsonb LANGUAGE sql AS 'SELECT NULL::jsonb';
CREATE FUNCTION regress_loads_payload(l regress_loads) RETURNS jsonb LANGUAGE sql
  AS $$ SELECT jsonb_build_object('orderNumber', l.order_number, 'details', jsonb_build_object('weight', l.weight)) $$;
CREATE TRIGGER t_int AFTER INSERT ON regress_loads
  FOR EACH ROW EXECUTE FUNCTION spotgo_gss.push_spotgo_order('regress_loads_int(regress_loads)');
-- a function returning int used to crash the server
SELECT * FROM sb.err($$INSERT INTO regress_loads VALUES ('L-1', 10)$$);
DROP TRIGGER t_int ON regress_loads;
CREATE TRIGGER t_set AFTER INSERT ON regress_loads
  FOR EACH ROW EXECUTE FUNCTION spotgo_gss.push_spotgo_order('regress_loads_set(regress_loads)');
SELECT * FROM sb.err($$INSERT INTO regress_loads VALUES ('L-1', 10)$$);
DROP TRIGGER t_set ON regress_loads;
CREATE TRIGGER t_text AFTER INSERT ON regress_loads
  FOR EACH ROW EXECUTE FUNCTION spotgo_gss.push_spotgo_order('regress_loads_text(text)');
SELECT * FROM sb.err($$INSERT INTO regress_loads VALUES ('L-1', 10)$$);
DROP TRIGGER t_text ON regress_loads;
CREATE TRIGGER t_payload AFTER INSERT ON regress_loads
  FOR EACH ROW EXECUTE FUNCTION spotgo_gss.push_spotgo_order('regress_loads_payload(regress_loads)');
-- alice may insert, but not execute the mapping function: refused
REVOKE EXECUTE ON FUNCTION regress_loads_payload(regress_loads) FROM PUBLIC;
CREATE USER MAPPING FOR regress_alice SERVER spotgo OPTIONS (api_key 'spotgo-test-key');
GRANT INSERT ON regress_loads TO regress_alice, regress_mallory;
GRANT USAGE ON SCHEMA sb TO regress_alice, regress_mallory;
GRANT ALL ON sb.out TO regress_alice, regress_mallory;
SET ROLE regress_alice;
SELECT * FROM sb.err($$INSERT INTO regress_loads VALUES ('L-2', 20)$$);
RESET ROLE;
GRANT EXECUTE ON FUNCTION regress_loads_payload(regress_loads) TO regress_alice;
SET ROLE regress_alice;
INSERT INTO regress_loads VALUES ('L-2', 20);
RESET ROLE;
-- mallory has no SpotGo mapping, but a function of the same name first in
-- her search_path: the trigger still resolves the table's own function
CREATE USER MAPPING FOR regress_mallory SERVER spotgo OPTIONS (api_key 'spotgo-test-key');
GRANT EXECUTE ON FUNCTION regress_loads_payload(regress_loads) TO regress_mallory;
SET ROLE regress_mallory;
CREATE FUNCTION regress_mallory.regress_loads_payload(l public.regress_loads) RETURNS jsonb LANGUAGE sql
  AS $$ SELECT jsonb_build_object('orderNumber', l.order_number, 'internalComments', 'planted') $$;
SET search_path = regress_mallory, public;
INSERT INTO regress_loads VALUES ('L-3', 30);
RESET search_path;
RESET ROLE;
SELECT object_key, enqueued_by, payload FROM spotgo_gss.outbox
WHERE operation = 'spotgo.upsert_order' ORDER BY object_key;

-- 4. one role never changes or sees another role's item
DELETE FROM spotgo_gss.outbox;
SET ROLE regress_alice;
SELECT spotgo_gss.enqueue('gss.upsert_order', '{"packingslipno": "SHARED-1", "consignee": "Alice"}') > 0 AS queued;
RESET ROLE;
SET ROLE regress_mallory;
SELECT spotgo_gss.enqueue('gss.delete_order', '{"packingslipno": "SHARED-1"}') > 0 AS queued;
SELECT spotgo_gss.enqueue('gss.upsert_order', '{"packingslipno": "SHARED-1", "consignee": "Mallory"}') > 0 AS queued;
-- mallory sees her own item only, in the table and in outbox_status
SELECT object_key, operation, payload FROM spotgo_gss.outbox;
SELECT server, state, items FROM spotgo_gss.outbox_status;
RESET ROLE;
SELECT object_key, enqueued_by, operation, version, payload ->> 'consignee' AS consignee
FROM spotgo_gss.outbox ORDER BY id;
-- both are delivered, in the order they were enqueued
SELECT sb.clear_journal();
CALL spotgo_gss.drain_outbox();
SELECT j ->> 'method' AS method, j -> 'json' -> 0 ->> 'consignee' AS consignee
FROM sb.journal() j ORDER BY (j ->> 'seq')::int;
SELECT object_key, enqueued_by, state FROM spotgo_gss.outbox ORDER BY id;

-- 5. retry_dead() never revives what a later delivered change superseded
-- (warnings carry outbox ids, which vary: not shown)
DELETE FROM spotgo_gss.outbox;
SET client_min_messages = error;
-- a dead upsert, then a delivered upsert of the same order
SELECT sb.fault('{"path": "/api/customerorders", "method": "PUT", "status": 400, "times": 1}');
SELECT spotgo_gss.enqueue('gss.upsert_order', '{"packingslipno": "RD-1", "consignee": "Old"}') > 0 AS queued;
CALL spotgo_gss.drain_outbox();
SELECT spotgo_gss.enqueue('gss.upsert_order', '{"packingslipno": "RD-1", "consignee": "New"}') > 0 AS queued;
CALL spotgo_gss.drain_outbox();
-- a dead upsert, then a delivered delete of the same order
SELECT sb.fault('{"path": "/api/customerorders", "method": "PUT", "status": 400, "times": 1}');
SELECT spotgo_gss.enqueue('gss.upsert_order', '{"packingslipno": "RD-2", "consignee": "Gone"}') > 0 AS queued;
CALL spotgo_gss.drain_outbox();
SELECT spotgo_gss.enqueue('gss.delete_order', '{"packingslipno": "RD-2"}') > 0 AS queued;
CALL spotgo_gss.drain_outbox();
-- and a dead upsert that nothing superseded
SELECT sb.fault('{"path": "/api/customerorders", "method": "PUT", "status": 400, "times": 1}');
SELECT spotgo_gss.enqueue('gss.upsert_order', '{"packingslipno": "RD-3", "consignee": "Only"}') > 0 AS queued;
CALL spotgo_gss.drain_outbox();
RESET client_min_messages;
SELECT object_key, operation, state, payload ->> 'consignee' AS consignee FROM spotgo_gss.outbox ORDER BY id;
SELECT * FROM spotgo_gss.retry_dead();
SELECT object_key, state, payload ->> 'consignee' AS consignee FROM spotgo_gss.outbox ORDER BY id;
SELECT sb.clear_journal();
CALL spotgo_gss.drain_outbox();
SELECT j ->> 'method' AS method, j -> 'json' -> 0 ->> 'packingslipno' AS packingslipno,
       j -> 'json' -> 0 ->> 'consignee' AS consignee
FROM sb.journal() j ORDER BY (j ->> 'seq')::int;
SELECT packingslipno, consignee FROM spotgo_gss.gss_customer_orders(ARRAY['RD-1', 'RD-2', 'RD-3']) ORDER BY 1;

-- 6. an answer that cannot be recorded is a failed attempt of its item:
-- never a batch sent again and again, never another item held back
DELETE FROM spotgo_gss.outbox;
SELECT sb.clear_journal();
SELECT sb.fault('{"path": "/api/v1/orders/upsert", "status": 200, "times": -1, "body": {"created": true, "updated": false, "linkChanged": false, "order": {"orderId": "not-a-uuid", "orderNumber": "P-1"}}}');
SELECT spotgo_gss.enqueue('spotgo.upsert_order', jsonb_build_object('orderNumber', 'P-' || i)) > 0 AS queued
FROM generate_series(1, 3) i;
SELECT spotgo_gss.enqueue('gss.upsert_order', '{"packingslipno": "P-GSS"}') > 0 AS queued;
SET client_min_messages = error;
CALL spotgo_gss.drain_outbox();
CALL spotgo_gss.drain_outbox();
RESET client_min_messages;
SELECT object_key, state, attempts, last_status, last_error, response IS NULL AS no_response,
       next_attempt_at > now() AS backing_off
FROM spotgo_gss.outbox ORDER BY object_key;
SELECT j ->> 'method' AS method, j ->> 'path' AS path, count(*) AS requests
FROM sb.journal() j GROUP BY 1, 2 ORDER BY 1, 2;
SELECT count(*) AS learned_ids FROM spotgo_gss.spotgo_order_ids;
SELECT sb.call('fault/clear', '{}') IS NOT NULL AS cleared;

-- clean up
DELETE FROM spotgo_gss.outbox;
DROP SCHEMA regress_mallory CASCADE;
DROP FUNCTION regress_loads_int(regress_loads), regress_loads_text(text), regress_loads_set(regress_loads),
  regress_loads_payload(regress_loads);
DROP TABLE regress_loads;
DROP FUNCTION public.make_interval(int);
DROP TABLE public.regress_trap;
REVOKE CREATE ON SCHEMA public FROM regress_mallory;
REVOKE ALL ON sb.out FROM regress_alice, regress_mallory;
REVOKE ALL ON SCHEMA sb FROM regress_alice, regress_mallory;
DROP USER MAPPING FOR regress_mallory SERVER gss;
DROP USER MAPPING FOR regress_mallory SERVER spotgo;
DROP USER MAPPING FOR regress_alice SERVER gss;
DROP USER MAPPING FOR regress_alice SERVER spotgo;
REVOKE ALL ON FOREIGN SERVER gss, spotgo FROM regress_mallory, regress_alice;
DROP ROLE regress_mallory, regress_alice;
RESET spotgo_gss.max_attempts;
