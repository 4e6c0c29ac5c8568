/* spotgo_gss--0.1.0--0.2.0.sql */

\echo Use "ALTER EXTENSION spotgo_gss UPDATE TO '0.2.0'" to load this file. \quit

-- 0.2.0 hardens the extension for shared databases:
--   * every routine runs under a fixed search_path (pg_catalog, pg_temp), so
--     no name resolves through a schema a caller controls;
--   * the outbox coalesces only the items of one enqueuing role;
--   * delivery's SQL lives here, in internal functions the C code calls;
--   * retry_dead() does not revive an item superseded by a later delivered
--     change, and says how many it left dead;
--   * pg_dump keeps the outbox, the SpotGo ids and the sync tables.
-- A new installation runs 0.1.0 and then this script, so an upgraded and a
-- new installation are the same.

-- ---------------------------------------------------------------------------
-- A fixed search_path for every routine.  The C routines resolve nothing by
-- name themselves (their SQL runs pinned, see src/pinned.c), but a SET clause
-- costs one GUC save per call and makes the rule hold without exception.
-- Not the trigger functions (they run per row; they pin inside C), and not
-- drain_outbox(): a procedure with a SET clause cannot commit, and it must
-- commit after each batch (it pins inside C as well).
-- ---------------------------------------------------------------------------

ALTER FUNCTION @extschema@.spotgo_gss_fdw_validator(text[], oid) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.gss_customer_orders(text[], timestamptz, timestamptz, boolean, boolean, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.gss_pending_orders(text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.gss_order_status(text, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.gss_upsert_orders(jsonb, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.gss_upsert_order(jsonb, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.gss_delete_orders(text[], text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.spotgo_create_order(jsonb, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.spotgo_update_order(uuid, jsonb, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.spotgo_upsert_order(jsonb, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.spotgo_delete_order(uuid, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.spotgo_get_order(uuid, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.spotgo_query_orders(jsonb, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.spotgo_document_content(uuid, uuid, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.spotgo_document(uuid, uuid, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.spotgo_upload_document(uuid, bytea, text, text, text, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.spotgo_set_document_status(uuid, uuid, text, text, text, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.enqueue(text, jsonb, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.sync_begin(text, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.sync_finish(text, text, timestamptz, bigint, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.sync_stage(text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.sync_gss_apply(text, timestamptz) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.sync_gss_orders(boolean, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.sync_spotgo_orders(boolean, text) SET search_path = pg_catalog, pg_temp;

-- ---------------------------------------------------------------------------
-- The outbox: one pending item per (server, object_key, enqueuing role)
-- ---------------------------------------------------------------------------

-- The arbiter of enqueuing (src/outbox_write.c finds it by this name).  The
-- object key comes first: it tells almost every pair of entries apart at the
-- first column, where the server name, the same in nearly every entry, would
-- cost a second text comparison at every step of every insertion.  Delivery's
-- lookups of the pending items of a (server, object_key) use it as well.
DROP INDEX @extschema@.outbox_one_pending;
CREATE UNIQUE INDEX outbox_one_pending ON @extschema@.outbox (object_key, server, enqueued_by)
  WHERE state = 'pending';

COMMENT ON TABLE @extschema@.outbox IS
'Changes waiting to be pushed to SpotGo or GoSweetSpot, and their outcome; at most one pending item per (server, object_key, enqueued_by)';

-- outbox_status counts what the reading role may see of the outbox (its own
-- items, or all of them for the owner): another role's items are not even
-- counted
ALTER VIEW @extschema@.outbox_status SET (security_invoker = true);

COMMENT ON VIEW @extschema@.outbox_status IS
'Outbox items per server and state that the reading role may see (its own; all for the owner): how many, the enqueue time of the oldest, the most attempts';
COMMENT ON FUNCTION @extschema@.enqueue(text, jsonb, text) IS
'Queue a push (spotgo.upsert_order, spotgo.delete_order, gss.upsert_order, gss.delete_order) for delivery after commit; replaces the pending payload of the same order enqueued by the same role; returns the outbox id';
COMMENT ON FUNCTION @extschema@.push_spotgo_order() IS
'Trigger (AFTER INSERT OR UPDATE OR DELETE ... FOR EACH ROW, or FOR EACH STATEMENT with transition tables): queue rows as SpotGo order upserts, or deletes; arguments: mapping function (regprocedure, '''' for to_jsonb of the row), server';
COMMENT ON FUNCTION @extschema@.push_gss_order() IS
'Trigger (AFTER INSERT OR UPDATE OR DELETE ... FOR EACH ROW, or FOR EACH STATEMENT with transition tables): queue rows as GoSweetSpot order upserts, or deletes; arguments: mapping function (regprocedure, '''' for to_jsonb of the row), server';

-- ---------------------------------------------------------------------------
-- Delivery's SQL (called by src/outbox_deliver.c, by the worker or CALL
-- drain_outbox(); never by users)
-- ---------------------------------------------------------------------------

-- release the claims a backend left behind (an earlier, interrupted drain)
CREATE FUNCTION @extschema@.outbox_release(p_pid int)
RETURNS bigint
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
  WITH released AS (
    UPDATE @extschema@.outbox SET claimed_by = NULL, claimed_at = NULL
     WHERE claimed_by = p_pid
    RETURNING 1)
  SELECT count(*) FROM released
$$;

COMMENT ON FUNCTION @extschema@.outbox_release(int) IS
'Internal: releases the outbox claims of a backend (one that was interrupted while delivering)';
REVOKE ALL ON FUNCTION @extschema@.outbox_release(int) FROM PUBLIC;

-- Claim up to p_limit due items for the calling backend.  A claim is stale
-- when its backend is gone or it is older than p_claim_timeout seconds.  An
-- item is due only when it is the oldest pending item of its (server, key)
-- (of any role): the changes of one key reach the API in the order they
-- were enqueued.
-- The plan must not depend on statistics: ones taken while the outbox held
-- only delivered items estimate one pending row, and a join (or a
-- correlated NOT EXISTS) over the pending items then runs as a nested loop,
-- quadratic in them.  So the oldest due item of each key is found in one
-- pass (DISTINCT ON, a sort), and the rows are then locked through the
-- primary key with "id = ANY (array)"; the conditions are checked again on
-- the locked rows, which a concurrent drainer may have changed.
CREATE FUNCTION @extschema@.outbox_claim(p_limit int, p_claim_timeout int)
RETURNS TABLE (id bigint, version int, operation text, server text, object_key text,
               payload jsonb, enqueued_by oid, attempts int, order_id text)
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
  WITH firsts AS (
    SELECT DISTINCT ON (p.server, p.object_key) p.id, p.next_attempt_at, p.claimed_by, p.claimed_at
      FROM @extschema@.outbox p
     WHERE p.state = 'pending'
     ORDER BY p.server, p.object_key, p.id),
  candidates AS (
    SELECT f.id FROM firsts f
     WHERE f.next_attempt_at <= clock_timestamp()
       AND (f.claimed_by IS NULL
            OR f.claimed_at < clock_timestamp() - make_interval(secs => p_claim_timeout)
            OR NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = f.claimed_by))
     ORDER BY f.id LIMIT p_limit * 4),
  due AS (
    SELECT o.id FROM @extschema@.outbox o
     WHERE o.id = ANY (ARRAY(SELECT c.id FROM candidates c))
       AND o.state = 'pending' AND o.next_attempt_at <= clock_timestamp()
       AND (o.claimed_by IS NULL
            OR o.claimed_at < clock_timestamp() - make_interval(secs => p_claim_timeout)
            OR NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = o.claimed_by))
     ORDER BY o.id LIMIT p_limit FOR UPDATE OF o SKIP LOCKED)
  UPDATE @extschema@.outbox o SET claimed_by = pg_backend_pid(), claimed_at = clock_timestamp()
    FROM due WHERE o.id = due.id
  RETURNING o.id, o.version, o.operation, o.server, o.object_key, o.payload,
            o.enqueued_by::oid, o.attempts,
            (SELECT i.order_id::text FROM @extschema@.spotgo_order_ids i
              WHERE i.server = o.server AND i.order_number = o.object_key)
$$;

COMMENT ON FUNCTION @extschema@.outbox_claim(int, int) IS
'Internal: claims up to p_limit due outbox items for this backend, oldest first, one per (server, object_key) at a time';
REVOKE ALL ON FUNCTION @extschema@.outbox_claim(int, int) FROM PUBLIC;

-- Record the outcomes of claimed items (arrays of one element per item).
-- Only rows still claimed by p_claimer are written; an item whose version
-- changed while it was in flight (a newer change arrived) stays pending and
-- goes out again at once with the new payload.
CREATE FUNCTION @extschema@.outbox_record(p_ids bigint[], p_versions int[], p_states text[],
                                          p_next_at timestamptz[], p_attempts int[],
                                          p_statuses int[], p_errors text[], p_responses jsonb[],
                                          p_claimers int[])
RETURNS bigint
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
  WITH recorded AS (
    UPDATE @extschema@.outbox o SET
      state = CASE WHEN o.version = r.version THEN r.state ELSE 'pending' END,
      attempts = CASE WHEN o.version = r.version THEN r.attempts ELSE 0 END,
      next_attempt_at = CASE WHEN o.version = r.version THEN r.next_at ELSE clock_timestamp() END,
      last_status = r.status, last_error = r.error,
      response = CASE WHEN r.state = 'done' OR r.response IS NOT NULL THEN r.response ELSE o.response END,
      sent_at = CASE WHEN r.state = 'done' THEN clock_timestamp() ELSE o.sent_at END,
      claimed_by = NULL, claimed_at = NULL
      FROM unnest(p_ids, p_versions, p_states, p_next_at, p_attempts, p_statuses, p_errors, p_responses,
                  p_claimers)
           AS r(id, version, state, next_at, attempts, status, error, response, claimer)
     -- the claimer comes from the arrays (every element the same), not from
     -- a restriction on claimed_by: statistics say claimed_by is nearly
     -- always NULL, and a restriction would be estimated at one row and
     -- planned as a rescan of the arrays per row; as a join column it lets
     -- the planner probe the primary key once per array element
     WHERE o.id = r.id AND o.claimed_by = r.claimer
    RETURNING 1)
  SELECT count(*) FROM recorded
$$;

COMMENT ON FUNCTION @extschema@.outbox_record(bigint[], int[], text[], timestamptz[], int[], int[], text[], jsonb[], int[]) IS
'Internal: records the outcomes of outbox items still claimed by the backend named in p_claimers; returns how many rows were written';
REVOKE ALL ON FUNCTION @extschema@.outbox_record(bigint[], int[], text[], timestamptz[], int[], int[], text[], jsonb[], int[]) FROM PUBLIC;

-- remember the orderId of delivered SpotGo upserts, forget those of deletes
CREATE FUNCTION @extschema@.outbox_learn_order_ids(p_servers text[], p_numbers text[], p_ids uuid[])
RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
  INSERT INTO @extschema@.spotgo_order_ids AS i (server, order_number, order_id, updated_at)
  SELECT DISTINCT ON (s, k) s, k, v, clock_timestamp()
    FROM unnest(p_servers, p_numbers, p_ids) WITH ORDINALITY AS u(s, k, v, n)
   ORDER BY s, k, n DESC
  ON CONFLICT (server, order_number) DO UPDATE
     SET order_id = excluded.order_id, updated_at = excluded.updated_at
$$;

COMMENT ON FUNCTION @extschema@.outbox_learn_order_ids(text[], text[], uuid[]) IS
'Internal: remembers the SpotGo orderId of delivered upserts (spotgo_gss.spotgo_order_ids)';
REVOKE ALL ON FUNCTION @extschema@.outbox_learn_order_ids(text[], text[], uuid[]) FROM PUBLIC;

CREATE FUNCTION @extschema@.outbox_forget_order_ids(p_servers text[], p_numbers text[])
RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
  DELETE FROM @extschema@.spotgo_order_ids i USING unnest(p_servers, p_numbers) AS u(s, k)
   WHERE i.server = u.s AND i.order_number = u.k
$$;

COMMENT ON FUNCTION @extschema@.outbox_forget_order_ids(text[], text[]) IS
'Internal: forgets the SpotGo orderId of delivered deletes';
REVOKE ALL ON FUNCTION @extschema@.outbox_forget_order_ids(text[], text[]) FROM PUBLIC;

-- purge done items older than p_retention seconds; returns how many
CREATE FUNCTION @extschema@.outbox_purge(p_retention int)
RETURNS bigint
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
  WITH purged AS (
    DELETE FROM @extschema@.outbox
     WHERE state = 'done' AND sent_at < clock_timestamp() - make_interval(secs => p_retention)
    RETURNING 1)
  SELECT count(*) FROM purged
$$;

COMMENT ON FUNCTION @extschema@.outbox_purge(int) IS
'Internal: deletes delivered outbox items older than p_retention seconds';
REVOKE ALL ON FUNCTION @extschema@.outbox_purge(int) FROM PUBLIC;

-- milliseconds until the next pending item is due (0 when one is due now), NULL when none
CREATE FUNCTION @extschema@.outbox_next_due_ms()
RETURNS bigint
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT greatest((extract(epoch FROM min(next_attempt_at) - clock_timestamp()) * 1000)::bigint, 0)
    FROM @extschema@.outbox WHERE state = 'pending'
$$;

COMMENT ON FUNCTION @extschema@.outbox_next_due_ms() IS
'Internal: milliseconds until the next pending outbox item is due, NULL when nothing is pending';
REVOKE ALL ON FUNCTION @extschema@.outbox_next_due_ms() FROM PUBLIC;

-- ---------------------------------------------------------------------------
-- retry_dead(): never revive stale data
-- ---------------------------------------------------------------------------

DROP FUNCTION @extschema@.retry_dead(text);

-- A dead item is put back only when it is the newest dead item of its
-- (server, object_key), no item of that key is pending, and no item of that
-- key enqueued after it (a higher id) has been delivered: reviving it would
-- overwrite newer data in the API, or bring back a deleted order.
CREATE FUNCTION @extschema@.retry_dead(server text DEFAULT NULL)
RETURNS TABLE (revived bigint, superseded bigint)
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
  WITH candidates AS (
    SELECT o.id,
           EXISTS (SELECT 1 FROM @extschema@.outbox d
                    WHERE d.state = 'done' AND d.server = o.server
                      AND d.object_key = o.object_key AND d.id > o.id) AS is_superseded
      FROM @extschema@.outbox o
     WHERE o.state = 'dead' AND ($1 IS NULL OR o.server = $1)
       AND o.id = (SELECT max(x.id) FROM @extschema@.outbox x
                    WHERE x.state = 'dead' AND x.server = o.server AND x.object_key = o.object_key)
       AND NOT EXISTS (SELECT 1 FROM @extschema@.outbox p
                        WHERE p.state = 'pending' AND p.server = o.server AND p.object_key = o.object_key)),
  retried AS (
    UPDATE @extschema@.outbox o
       SET state = 'pending', attempts = 0, next_attempt_at = now(),
           claimed_by = NULL, claimed_at = NULL
      FROM candidates c
     WHERE o.id = c.id AND NOT c.is_superseded
    RETURNING 1)
  SELECT (SELECT count(*) FROM retried),
         (SELECT count(*) FROM candidates WHERE is_superseded)
$$;

COMMENT ON FUNCTION @extschema@.retry_dead(text) IS
'Put dead outbox items (of one server, or all) back in the queue: the newest dead item of each order, unless a change of that order is pending or a later change of it was delivered (superseded: it stays dead); returns how many were revived and how many were superseded';
REVOKE ALL ON FUNCTION @extschema@.retry_dead(text) FROM PUBLIC;

-- ---------------------------------------------------------------------------
-- pg_dump keeps the queue, the SpotGo ids and the sync state (an extension's
-- tables are otherwise dumped without their rows)
-- ---------------------------------------------------------------------------

SELECT pg_catalog.pg_extension_config_dump('@extschema@.outbox', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.outbox_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.spotgo_order_ids', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.sync_state', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.gss_orders_local', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.spotgo_orders_local', '');

-- ---------------------------------------------------------------------------
-- api_stats: every API call counted, per (database, server, method, endpoint)
-- ---------------------------------------------------------------------------

-- The function checks the caller itself (a member of pg_read_all_stats, or a
-- role that may SELECT the view), so that a GRANT on the view is all another
-- role needs.
CREATE FUNCTION @extschema@.api_stats_rows(
  OUT database name, OUT server text, OUT method text, OUT endpoint text,
  OUT calls bigint, OUT errors bigint, OUT retries bigint, OUT throttled bigint,
  OUT bytes_received bigint, OUT total_ms double precision, OUT mean_ms double precision,
  OUT p95_ms double precision, OUT max_ms double precision, OUT last_status int,
  OUT last_error_at timestamptz, OUT since timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'api_stats_rows'
LANGUAGE C VOLATILE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.api_stats_rows() IS
'Internal: the rows of the view spotgo_gss.api_stats';

CREATE VIEW @extschema@.api_stats AS
  SELECT * FROM @extschema@.api_stats_rows();

COMMENT ON VIEW @extschema@.api_stats IS
'API calls per database, server, method and endpoint template: calls (retries included), errors (non-2xx and transport failures), retries, throttled (429 answers and client-side rate-limit pauses), bytes received, times (total, mean, p95 from a log-scale histogram, max), last status, last error time, and the time counting began';
REVOKE ALL ON @extschema@.api_stats FROM PUBLIC;
GRANT SELECT ON @extschema@.api_stats TO pg_read_all_stats;

CREATE FUNCTION @extschema@.api_stats_reset()
RETURNS void
AS 'MODULE_PATHNAME', 'api_stats_reset'
LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.api_stats_reset() IS
'Forget every spotgo_gss.api_stats entry and start counting anew (owner only unless granted)';
REVOKE ALL ON FUNCTION @extschema@.api_stats_reset() FROM PUBLIC;

-- ---------------------------------------------------------------------------
-- Foreign tables over the APIs' resources (src/fdw.c, src/fdw_modify.c):
-- CREATE FOREIGN TABLE ... SERVER s OPTIONS (resource 'gss.customer_orders'
-- | 'gss.pending_orders' | 'spotgo.orders'), or IMPORT FOREIGN SCHEMA gss /
-- spotgo.  The table options (resource, rows) and the server option
-- latency_ms are checked by the validator.
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.spotgo_gss_fdw_handler()
RETURNS fdw_handler
AS 'MODULE_PATHNAME', 'spotgo_gss_fdw_handler'
LANGUAGE C STRICT
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.spotgo_gss_fdw_handler() IS
'Handler of the spotgo_gss foreign-data wrapper: foreign tables over the resources gss.customer_orders, gss.pending_orders and spotgo.orders';

-- Giving a wrapper a handler always warns that existing foreign tables may
-- change behaviour; a spotgo_gss foreign table could not be read before
-- this version, so the warning says nothing here.  (Settings made in an
-- extension script end with it.)
SET client_min_messages = error;
SET log_min_messages = error;
ALTER FOREIGN DATA WRAPPER spotgo_gss HANDLER @extschema@.spotgo_gss_fdw_handler;
RESET log_min_messages;
RESET client_min_messages;

COMMENT ON FOREIGN DATA WRAPPER spotgo_gss IS
'SpotGo CarrierPortal and GoSweetSpot APIs: servers (api, base_url, limits), user mappings (access_key, api_key), and foreign tables over their order resources (resource, rows)';
