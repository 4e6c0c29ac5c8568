--
-- outbox: enqueue, coalescing, triggers with and without a mapping
-- function, delivery by CALL spotgo_gss.drain_outbox(), failures, dead
-- items, retry_dead(), the status view, and who may see what.
--
SELECT sb.reset();
SET spotgo_gss.max_attempts = 3;

-- enqueue validates before anything is queued
SELECT * FROM sb.err($$SELECT spotgo_gss.enqueue('gss.fly_order', '{}')$$);
SELECT * FROM sb.err($$SELECT spotgo_gss.enqueue('gss.upsert_order', '[]')$$);
SELECT * FROM sb.err($$SELECT spotgo_gss.enqueue('gss.upsert_order', '{"consignee": "x"}')$$);
SELECT * FROM sb.err($$SELECT spotgo_gss.enqueue('gss.delete_order', '{"packingslipno": "A,B"}')$$);
SELECT * FROM sb.err($$SELECT spotgo_gss.enqueue('spotgo.upsert_order', '{"orderNumber": "X", "locations": [{"sequence": "one"}]}')$$);
SELECT * FROM sb.err($$SELECT spotgo_gss.enqueue('spotgo.delete_order', '{"orderId": "x"}')$$);
SELECT * FROM sb.err($$SELECT spotgo_gss.enqueue('gss.upsert_order', '{"packingslipno": "X"}', 'nosuch')$$);
SELECT * FROM sb.err($$SELECT spotgo_gss.enqueue('gss.upsert_order', '{"packingslipno": "X"}', 'spotgo')$$);
SELECT count(*) AS queued FROM spotgo_gss.outbox;

-- a rolled-back transaction enqueues nothing
BEGIN;
SELECT spotgo_gss.enqueue('gss.upsert_order', '{"packingslipno": "RB1"}') > 0 AS enqueued;
ROLLBACK;
SELECT count(*) AS queued FROM spotgo_gss.outbox;

-- ten changes of one order before delivery: one item, one request, the last payload
SELECT count(DISTINCT spotgo_gss.enqueue('gss.upsert_order', jsonb_build_object('packingslipno', 'C1', 'consignee', 'Change ' || i)))
  AS distinct_ids
FROM generate_series(1, 10) i;
SELECT object_key, operation, state, version, payload ->> 'consignee' AS consignee FROM spotgo_gss.outbox;
CALL spotgo_gss.drain_outbox();
SELECT object_key, state, attempts, last_status, response FROM spotgo_gss.outbox;
SELECT j ->> 'method' AS method, jsonb_array_length(j -> 'json') AS orders, j -> 'json' -> 0 ->> 'consignee' AS consignee
FROM sb.journal() j;
-- a later change is a new item; the done one stays as history
SELECT spotgo_gss.enqueue('gss.upsert_order', '{"packingslipno": "C1", "consignee": "Change 11"}') > 1 AS new_item;
SELECT state, count(*) FROM spotgo_gss.outbox GROUP BY state ORDER BY state;
CALL spotgo_gss.drain_outbox();

-- drain_outbox commits, so it cannot run inside a transaction block
BEGIN;
CALL spotgo_gss.drain_outbox();
ROLLBACK;

-- triggers: the row as the payload, GSS field names as columns
CREATE TABLE shop_orders (packingslipno text PRIMARY KEY, consignee text, city text, note text);
CREATE TRIGGER shop_orders_push AFTER INSERT OR UPDATE OR DELETE ON shop_orders
  FOR EACH ROW EXECUTE FUNCTION spotgo_gss.push_gss_order();
SELECT sb.clear_journal();
INSERT INTO shop_orders VALUES ('T1', 'Tui', 'Nelson', NULL), ('T2', 'Kea', 'Otago', NULL);
-- nothing is sent inside the transaction: only queued
SELECT count(*) AS requests FROM sb.journal();
SELECT object_key, operation, payload FROM spotgo_gss.outbox WHERE state = 'pending' ORDER BY object_key;
CALL spotgo_gss.drain_outbox();
SELECT packingslipno, consignee, city FROM spotgo_gss.gss_customer_orders(ARRAY['T1', 'T2']) ORDER BY 1;
-- an UPDATE that changes the payload is queued, one that changes nothing is not
UPDATE shop_orders SET city = 'Picton' WHERE packingslipno = 'T1';
UPDATE shop_orders SET city = city WHERE packingslipno = 'T2';
SELECT object_key, payload ->> 'city' AS city FROM spotgo_gss.outbox WHERE state = 'pending';
-- changing the key deletes the old number and publishes the new one
UPDATE shop_orders SET packingslipno = 'T2b' WHERE packingslipno = 'T2';
DELETE FROM shop_orders WHERE packingslipno = 'T1';
SELECT object_key, operation FROM spotgo_gss.outbox WHERE state = 'pending' ORDER BY id;
SELECT sb.clear_journal();
CALL spotgo_gss.drain_outbox();
SELECT j ->> 'method' AS method, coalesce(j -> 'args' ->> 'packingslipno', j -> 'json' -> 0 ->> 'packingslipno') AS number
FROM sb.journal() j ORDER BY (j ->> 'seq')::int;
SELECT object_key, operation, state, response FROM spotgo_gss.outbox WHERE sent_at IS NOT NULL AND object_key IN ('T1', 'T2', 'T2b')
ORDER BY id DESC LIMIT 3;
-- a bad row fails the user's statement: nothing unsendable is queued
SELECT * FROM sb.err($$INSERT INTO shop_orders VALUES ('', 'Nobody', NULL, NULL)$$);
-- the trigger must be AFTER ... FOR EACH ROW
CREATE TRIGGER shop_orders_wrong BEFORE INSERT ON shop_orders
  FOR EACH ROW EXECUTE FUNCTION spotgo_gss.push_gss_order();
SELECT * FROM sb.err($$INSERT INTO shop_orders VALUES ('T9', 'Moa', NULL, NULL)$$);
DROP TRIGGER shop_orders_wrong ON shop_orders;

-- bulk changes: statement-level triggers with transition tables, one INSERT into the outbox per statement
CREATE TABLE bulk_orders (packingslipno text PRIMARY KEY, consignee text, city text);
CREATE TRIGGER bulk_ins AFTER INSERT ON bulk_orders REFERENCING NEW TABLE AS n
  FOR EACH STATEMENT EXECUTE FUNCTION spotgo_gss.push_gss_order();
CREATE TRIGGER bulk_upd AFTER UPDATE ON bulk_orders REFERENCING OLD TABLE AS o NEW TABLE AS n
  FOR EACH STATEMENT EXECUTE FUNCTION spotgo_gss.push_gss_order();
CREATE TRIGGER bulk_del AFTER DELETE ON bulk_orders REFERENCING OLD TABLE AS o
  FOR EACH STATEMENT EXECUTE FUNCTION spotgo_gss.push_gss_order();
INSERT INTO bulk_orders SELECT 'BK' || i, 'Bulk ' || i, 'Gisborne' FROM generate_series(1, 300) i;
SELECT count(*) AS queued, count(*) FILTER (WHERE payload ->> 'city' = 'Gisborne') AS with_payload
FROM spotgo_gss.outbox WHERE state = 'pending' AND object_key LIKE 'BK%';
UPDATE bulk_orders SET city = 'Wairoa' WHERE packingslipno IN ('BK1', 'BK2');
UPDATE bulk_orders SET consignee = consignee WHERE packingslipno = 'BK3';
UPDATE bulk_orders SET packingslipno = 'BK4x' WHERE packingslipno = 'BK4';
DELETE FROM bulk_orders WHERE packingslipno = 'BK5';
SELECT object_key, operation, payload ->> 'city' AS city, version FROM spotgo_gss.outbox
WHERE state = 'pending' AND object_key IN ('BK1', 'BK2', 'BK3', 'BK4', 'BK4x', 'BK5') ORDER BY 1;
-- one bad row refuses the whole statement
SELECT * FROM sb.err($$INSERT INTO bulk_orders VALUES ('BK900', 'ok', NULL), ('', 'bad', NULL)$$);
SELECT count(*) AS bk900_queued FROM spotgo_gss.outbox WHERE object_key = 'BK900';
SELECT sb.clear_journal();
CALL spotgo_gss.drain_outbox();
SELECT j ->> 'method' AS method, count(*) AS requests FROM sb.journal() j GROUP BY 1 ORDER BY 1;
SELECT count(*) AS in_gss FROM spotgo_gss.gss_customer_orders() WHERE packingslipno LIKE 'BK%';
-- a statement-level trigger without a transition table is refused
CREATE TRIGGER bulk_wrong AFTER INSERT ON bulk_orders FOR EACH STATEMENT EXECUTE FUNCTION spotgo_gss.push_gss_order();
SELECT * FROM sb.err($$INSERT INTO bulk_orders VALUES ('BK901', 'x', NULL)$$);
DROP TABLE bulk_orders;

-- SpotGo with a mapping function; NULL from the mapping skips the row
CREATE TABLE loads (id int PRIMARY KEY, ref text, carrier text, vat text, draft boolean DEFAULT false);
CREATE FUNCTION load_payload(l loads) RETURNS jsonb LANGUAGE sql AS $$
  SELECT CASE WHEN NOT l.draft THEN
    jsonb_build_object('orderNumber', l.ref, 'carrier', jsonb_build_object('name', l.carrier, 'vatCode', l.vat)) END
$$;
CREATE TRIGGER loads_push AFTER INSERT OR UPDATE OR DELETE ON loads
  FOR EACH ROW EXECUTE FUNCTION spotgo_gss.push_spotgo_order('load_payload(loads)', 'spotgo');
INSERT INTO loads VALUES (1, 'LD-1', 'Trans', 'PL1', false), (2, 'LD-2', 'Cargo', 'PL2', false), (3, 'LD-3', 'Draft', 'PL3', true);
SELECT object_key, operation, payload FROM spotgo_gss.outbox WHERE state = 'pending' ORDER BY object_key;
SELECT sb.clear_journal();
CALL spotgo_gss.drain_outbox();
SELECT object_key, state, response ->> 'created' AS created FROM spotgo_gss.outbox WHERE operation = 'spotgo.upsert_order' ORDER BY object_key;
-- the order ids are remembered, so a delete needs no lookup
SELECT server, order_number, order_id IS NOT NULL AS has_id FROM spotgo_gss.spotgo_order_ids ORDER BY 2;
DELETE FROM loads WHERE id = 1;
SELECT sb.clear_journal();
CALL spotgo_gss.drain_outbox();
SELECT j ->> 'method' AS method, regexp_replace(j ->> 'path', '[0-9a-f-]{36}', '{id}') AS path FROM sb.journal() j;
SELECT order_number FROM spotgo_gss.spotgo_order_ids ORDER BY 1;
-- a delete of an order without a remembered id finds it with a query; one SpotGo never had is done
SELECT sb.call('spotgo/orders', '{"orders": [{"orderNumber": "LD-9"}]}') IS NOT NULL AS seeded;
SELECT spotgo_gss.enqueue('spotgo.delete_order', '{"orderNumber": "LD-9"}') > 0 AS queued;
SELECT spotgo_gss.enqueue('spotgo.delete_order', '{"orderNumber": "LD-NEVER"}') > 0 AS queued;
SELECT sb.clear_journal();
CALL spotgo_gss.drain_outbox();
SELECT j ->> 'method' AS method, regexp_replace(j ->> 'path', '[0-9a-f-]{36}', '{id}') AS path, j -> 'json' ->> 'orderNumber' AS number
FROM sb.journal() j ORDER BY (j ->> 'seq')::int;
SELECT object_key, state, response - 'orderId' AS response FROM spotgo_gss.outbox
WHERE operation = 'spotgo.delete_order' AND object_key IN ('LD-9', 'LD-NEVER') ORDER BY 1;

-- failures: retried with back-off, then dead after max_attempts; 4xx is dead at once
SELECT sb.fault('{"path": "/api/customerorders", "method": "PUT", "status": 503, "times": -1}');
ALTER SERVER gss OPTIONS (ADD max_retries '0');
SELECT spotgo_gss.enqueue('gss.upsert_order', '{"packingslipno": "F1"}') > 0 AS queued;
CALL spotgo_gss.drain_outbox();
SELECT object_key, state, attempts, last_status, last_error, next_attempt_at > now() AS backing_off
FROM spotgo_gss.outbox WHERE object_key = 'F1';
-- not due yet: a drain leaves it alone
CALL spotgo_gss.drain_outbox();
SELECT attempts FROM spotgo_gss.outbox WHERE object_key = 'F1';
UPDATE spotgo_gss.outbox SET next_attempt_at = now() WHERE object_key = 'F1';
CALL spotgo_gss.drain_outbox();
UPDATE spotgo_gss.outbox SET next_attempt_at = now() WHERE object_key = 'F1' AND state = 'pending';
CALL spotgo_gss.drain_outbox();
SELECT object_key, state, attempts, last_status FROM spotgo_gss.outbox WHERE object_key = 'F1';
SELECT server, state, items, max_attempts FROM spotgo_gss.outbox_status ORDER BY 1, 2;
SELECT sb.call('fault/clear', '{}') IS NOT NULL AS cleared;
SELECT sb.fault('{"path": "/api/customerorders", "method": "PUT", "status": 400, "body": "{\"Message\": \"The request is invalid.\"}", "times": 1}');
SELECT spotgo_gss.enqueue('gss.upsert_order', '{"packingslipno": "F2"}') > 0 AS queued;
CALL spotgo_gss.drain_outbox();
SELECT object_key, state, attempts, last_status, last_error FROM spotgo_gss.outbox WHERE object_key = 'F2';
-- an upload GSS ignores (the order is already processed) cannot land: dead with GSS's words
SELECT sb.call('gss/process', '{"packingslipno": "T2b"}') IS NOT NULL AS processed;
UPDATE shop_orders SET city = 'Queenstown' WHERE packingslipno = 'T2b';
CALL spotgo_gss.drain_outbox();
SELECT object_key, state, last_error, response FROM spotgo_gss.outbox WHERE object_key = 'T2b' AND state = 'dead';
-- retry_dead puts them back; they are delivered now that the API is well
SELECT revived, superseded FROM spotgo_gss.retry_dead('gss');
SELECT object_key, state, attempts FROM spotgo_gss.outbox WHERE object_key IN ('F1', 'F2') AND state = 'pending' ORDER BY 1;
CALL spotgo_gss.drain_outbox();
SELECT object_key, state FROM spotgo_gss.outbox WHERE object_key IN ('F1', 'F2') ORDER BY id DESC LIMIT 2;
ALTER SERVER gss OPTIONS (DROP max_retries);

-- who sees what: payloads only of one's own items; the status view for all
CREATE ROLE regress_outbox_user;
GRANT USAGE ON FOREIGN SERVER gss TO regress_outbox_user;
CREATE USER MAPPING FOR regress_outbox_user SERVER gss OPTIONS (access_key 'gss-test-key');
GRANT USAGE ON SCHEMA sb TO regress_outbox_user;
GRANT ALL ON sb.out TO regress_outbox_user;
SET ROLE regress_outbox_user;
SELECT count(*) AS visible_before FROM spotgo_gss.outbox;
SELECT spotgo_gss.enqueue('gss.upsert_order', '{"packingslipno": "U1"}') > 0 AS queued;
SELECT object_key, enqueued_by FROM spotgo_gss.outbox;
SELECT count(*) > 0 AS status_visible FROM spotgo_gss.outbox_status;
SELECT * FROM sb.err($$INSERT INTO spotgo_gss.outbox (server, operation, object_key, payload, enqueued_by) VALUES ('gss', 'gss.upsert_order', 'X', '{}', 'postgres')$$);
SELECT * FROM sb.err($$UPDATE spotgo_gss.outbox SET state = 'done'$$);
SELECT * FROM sb.err($$CALL spotgo_gss.drain_outbox()$$);
SELECT * FROM sb.err($$SELECT spotgo_gss.retry_dead()$$);
SELECT * FROM sb.err($$SELECT * FROM spotgo_gss.spotgo_order_ids$$);
-- without a user mapping nothing can be queued
RESET ROLE;
DROP USER MAPPING FOR regress_outbox_user SERVER gss;
SET ROLE regress_outbox_user;
SELECT * FROM sb.err($$SELECT spotgo_gss.enqueue('gss.upsert_order', '{"packingslipno": "U2"}')$$);
RESET ROLE;
-- delivery uses the enqueuing role's mapping: gone, so the item fails and says why
CALL spotgo_gss.drain_outbox();
SELECT object_key, state, attempts, last_error FROM spotgo_gss.outbox WHERE object_key = 'U1';

DELETE FROM spotgo_gss.outbox WHERE enqueued_by = 'regress_outbox_user'::regrole;
REVOKE ALL ON FOREIGN SERVER gss FROM regress_outbox_user;
REVOKE ALL ON sb.out FROM regress_outbox_user;
REVOKE ALL ON SCHEMA sb FROM regress_outbox_user;
DROP ROLE regress_outbox_user;
DROP FUNCTION load_payload(loads);
DROP TABLE shop_orders, loads;
TRUNCATE spotgo_gss.outbox, spotgo_gss.spotgo_order_ids;
RESET spotgo_gss.max_attempts;
