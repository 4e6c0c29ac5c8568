/* spotgo_gss--0.1.0.sql */

\echo Use "CREATE EXTENSION spotgo_gss" to load this file. \quit

-- Every role may call the functions; what a role can reach is decided by
-- USAGE on a server and its user mapping.
GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;

-- ---------------------------------------------------------------------------
-- Foreign-data wrapper: servers hold endpoints and limits, user mappings keys
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.spotgo_gss_fdw_validator(text[], oid)
RETURNS void
AS 'MODULE_PATHNAME', 'spotgo_gss_fdw_validator'
LANGUAGE C STRICT;

COMMENT ON FUNCTION @extschema@.spotgo_gss_fdw_validator(text[], oid) IS
'Validates options of spotgo_gss servers and user mappings';

CREATE FOREIGN DATA WRAPPER spotgo_gss
  VALIDATOR @extschema@.spotgo_gss_fdw_validator;

COMMENT ON FOREIGN DATA WRAPPER spotgo_gss IS
'SpotGo CarrierPortal and GoSweetSpot APIs: servers (api, base_url, limits) and user mappings (access_key, api_key)';

-- ---------------------------------------------------------------------------
-- GoSweetSpot customer orders
-- ---------------------------------------------------------------------------

CREATE TYPE @extschema@.gss_order AS (
  packingslipno     text,
  consignee         text,
  address1          text,
  address2          text,
  suburb            text,
  city              text,
  postcode          text,
  country           text,
  delvref           text,
  delvinstructions  text,
  contactname       text,
  contactphone      text,
  email             text,
  rawaddress        text,
  costcentre        text,
  isrural           boolean,
  notrural          boolean,
  status            text,
  ticketnumber      text,
  trackingurl       text,
  picked            timestamp,
  delivered         timestamp,
  manualticket      boolean,
  products          jsonb,
  packages          jsonb,
  extra             jsonb
);

COMMENT ON TYPE @extschema@.gss_order IS
'A GoSweetSpot customer order; the nested status object is flattened into status .. manualticket, fields without a column are in extra';

CREATE TYPE @extschema@.gss_order_status AS (
  packingslipno      text,
  consignee          text,
  status             text,
  ticketnumber       text,
  trackingurl        text,
  picked             timestamp,
  delivered          timestamp,
  ticketprinteddate  timestamp,
  ticketprintedby    text,
  ticketdeleteddate  timestamp,
  ticketdeletedby    text
);

COMMENT ON TYPE @extschema@.gss_order_status IS
'The status of one GoSweetSpot order (GET /v2/order/{packingslipno})';

CREATE FUNCTION @extschema@.gss_customer_orders(
  packingslipnos    text[]      DEFAULT NULL,
  created_from      timestamptz DEFAULT NULL,
  created_to        timestamptz DEFAULT NULL,
  exclude_completed boolean     DEFAULT false,
  include_products  boolean     DEFAULT false,
  server            text        DEFAULT NULL)
RETURNS SETOF @extschema@.gss_order
AS 'MODULE_PATHNAME', 'gss_customer_orders'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 1000;

COMMENT ON FUNCTION @extschema@.gss_customer_orders(text[], timestamptz, timestamptz, boolean, boolean, text) IS
'GoSweetSpot customer orders, every page of GET /api/customerorders; filters by packing-slip numbers, creation time (UTC), open orders only, with products';

CREATE FUNCTION @extschema@.gss_pending_orders(server text DEFAULT NULL)
RETURNS SETOF @extschema@.gss_order
AS 'MODULE_PATHNAME', 'gss_pending_orders'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 100;

COMMENT ON FUNCTION @extschema@.gss_pending_orders(text) IS
'GoSweetSpot orders published but not yet processed (GET /v2/pendingorders)';

CREATE FUNCTION @extschema@.gss_order_status(packingslipno text, server text DEFAULT NULL)
RETURNS @extschema@.gss_order_status
AS 'MODULE_PATHNAME', 'gss_order_status'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.gss_order_status(text, text) IS
'Status of one GoSweetSpot order (GET /v2/order/{packingslipno}); NULL when GoSweetSpot does not know it';

CREATE FUNCTION @extschema@.gss_upsert_orders(orders jsonb, server text DEFAULT NULL)
RETURNS TABLE (packingslipno text, accepted boolean, message text)
AS 'MODULE_PATHNAME', 'gss_upsert_orders'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 50;

COMMENT ON FUNCTION @extschema@.gss_upsert_orders(jsonb, text) IS
'Publish or update GoSweetSpot orders (PUT /api/customerorders in batches of batch_size); one row per order in input order, accepted false when GoSweetSpot ignored it (already processed)';

CREATE FUNCTION @extschema@.gss_upsert_order("order" jsonb, server text DEFAULT NULL)
RETURNS boolean
AS 'MODULE_PATHNAME', 'gss_upsert_order'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.gss_upsert_order(jsonb, text) IS
'Publish or update one GoSweetSpot order; true when saved, false when ignored (already processed)';

CREATE FUNCTION @extschema@.gss_delete_orders(packingslipnos text[], server text DEFAULT NULL)
RETURNS TABLE (packingslipno text, deleted boolean, outcome text)
AS 'MODULE_PATHNAME', 'gss_delete_orders'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 50;

COMMENT ON FUNCTION @extschema@.gss_delete_orders(text[], text) IS
'Delete GoSweetSpot orders not yet processed (DELETE /api/customerorders, 50 numbers per call); outcome in GoSweetSpot''s words, deleted true only for "Deleted."';

-- ---------------------------------------------------------------------------
-- SpotGo CarrierPortal orders
-- ---------------------------------------------------------------------------

CREATE TYPE @extschema@.spotgo_order AS (
  order_id           uuid,
  order_number       text,
  status             text,
  created_at         timestamptz,
  carrier_name       text,
  carrier_email      text,
  carrier_vat_code   text,
  share_url          text,
  "order"            jsonb,
  internal_comments  text
);

COMMENT ON TYPE @extschema@.spotgo_order IS
'One order of a SpotGo order query; "order" is the whole item as SpotGo sent it';

CREATE FUNCTION @extschema@.spotgo_create_order("order" jsonb, server text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'spotgo_create_order'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.spotgo_create_order(jsonb, text) IS
'Create a SpotGo order (POST /api/v1/orders); fails when the orderNumber exists; returns the order view';

CREATE FUNCTION @extschema@.spotgo_update_order(order_id uuid, "order" jsonb, server text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'spotgo_update_order'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.spotgo_update_order(uuid, jsonb, text) IS
'Update a SpotGo order by id (PUT /api/v1/orders/{orderId}); the carrier cannot change; returns the order view';

CREATE FUNCTION @extschema@.spotgo_upsert_order("order" jsonb, server text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'spotgo_upsert_order'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.spotgo_upsert_order(jsonb, text) IS
'Create or update a SpotGo order by orderNumber (POST /api/v1/orders/upsert); returns created, updated, linkChanged and the order';

CREATE FUNCTION @extschema@.spotgo_delete_order(order_id uuid, server text DEFAULT NULL)
RETURNS boolean
AS 'MODULE_PATHNAME', 'spotgo_delete_order'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.spotgo_delete_order(uuid, text) IS
'Delete a SpotGo order (DELETE /api/v1/orders/{orderId}); false when SpotGo did not have it';

CREATE FUNCTION @extschema@.spotgo_get_order(order_id uuid, server text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'spotgo_get_order'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.spotgo_get_order(uuid, text) IS
'One SpotGo order with its documents (GET /api/v1/orders/{orderId}); NULL when unknown';

CREATE FUNCTION @extschema@.spotgo_query_orders(filter jsonb DEFAULT '{}', server text DEFAULT NULL)
RETURNS SETOF @extschema@.spotgo_order
AS 'MODULE_PATHNAME', 'spotgo_query_orders'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 1000;

COMMENT ON FUNCTION @extschema@.spotgo_query_orders(jsonb, text) IS
'SpotGo orders matching a filter (POST /api/v1/orders/query), every page by continuation token';

CREATE FUNCTION @extschema@.spotgo_document_content(order_id uuid, document_id uuid, server text DEFAULT NULL)
RETURNS bytea
AS 'MODULE_PATHNAME', 'spotgo_document_content'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.spotgo_document_content(uuid, uuid, text) IS
'The bytes of a SpotGo order document (GET .../documents/{documentId}/content); NULL when unknown';

CREATE FUNCTION @extschema@.spotgo_document(order_id uuid, document_id uuid, server text DEFAULT NULL)
RETURNS TABLE (content_type text, filename text, content bytea)
AS 'MODULE_PATHNAME', 'spotgo_document'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 1;

COMMENT ON FUNCTION @extschema@.spotgo_document(uuid, uuid, text) IS
'A SpotGo order document with its content type and file name; no row when unknown';

CREATE FUNCTION @extschema@.spotgo_upload_document(order_id uuid, content bytea, filename text,
                                                   document_type text,
                                                   content_type text DEFAULT 'application/pdf',
                                                   server text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'spotgo_upload_document'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.spotgo_upload_document(uuid, bytea, text, text, text, text) IS
'Upload a document to a SpotGo order (multipart POST /api/v1/orders/{orderId}/documents); returns the document view';

CREATE FUNCTION @extschema@.spotgo_set_document_status(order_id uuid, document_id uuid, status text,
                                                       reason text DEFAULT NULL, comment text DEFAULT NULL,
                                                       server text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'spotgo_set_document_status'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.spotgo_set_document_status(uuid, uuid, text, text, text, text) IS
'Accept or reject a SpotGo order document (POST .../documents/{documentId}/status), with an optional reason and comment';

-- ---------------------------------------------------------------------------
-- Push: the durable outbox
-- ---------------------------------------------------------------------------

CREATE TABLE @extschema@.outbox (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  server           text NOT NULL,
  operation        text NOT NULL
                   CHECK (operation IN ('spotgo.upsert_order', 'spotgo.delete_order',
                                        'gss.upsert_order', 'gss.delete_order')),
  object_key       text NOT NULL,
  payload          jsonb NOT NULL,
  state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'dead')),
  attempts         int NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  last_status      int,
  last_error       text,
  response         jsonb,
  enqueued_by      regrole NOT NULL,
  enqueued_at      timestamptz NOT NULL DEFAULT now(),
  sent_at          timestamptz,
  version          int NOT NULL DEFAULT 1,
  claimed_by       int,
  claimed_at       timestamptz
);

COMMENT ON TABLE @extschema@.outbox IS
'Changes waiting to be pushed to SpotGo or GoSweetSpot, and their outcome; at most one pending item per (server, object_key)';
COMMENT ON COLUMN @extschema@.outbox.version IS
'Bumped each time a newer change replaces the pending payload; an item whose version changed while in flight is sent again';
COMMENT ON COLUMN @extschema@.outbox.claimed_by IS
'pid of the backend delivering the item right now, NULL when none';

CREATE UNIQUE INDEX outbox_one_pending ON @extschema@.outbox (server, object_key) WHERE state = 'pending';
CREATE INDEX outbox_done_sent ON @extschema@.outbox (sent_at) WHERE state = 'done';

-- payloads are visible to the role that enqueued them (and roles that are
-- members of it); the owner sees everything; nobody writes but the functions
ALTER TABLE @extschema@.outbox ENABLE ROW LEVEL SECURITY;
CREATE POLICY outbox_own_items ON @extschema@.outbox FOR SELECT
  USING (pg_catalog.pg_has_role(enqueued_by, 'MEMBER'));
REVOKE ALL ON @extschema@.outbox FROM PUBLIC;
GRANT SELECT ON @extschema@.outbox TO PUBLIC;

CREATE TABLE @extschema@.spotgo_order_ids (
  server        text NOT NULL,
  order_number  text NOT NULL,
  order_id      uuid NOT NULL,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (server, order_number)
);

COMMENT ON TABLE @extschema@.spotgo_order_ids IS
'SpotGo orderId of each order number, from the last delivered upsert; used to send deletes';
REVOKE ALL ON @extschema@.spotgo_order_ids FROM PUBLIC;

CREATE FUNCTION @extschema@.enqueue(operation text, payload jsonb, server text DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'spotgo_gss_enqueue'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.enqueue(text, jsonb, text) IS
'Queue a push (spotgo.upsert_order, spotgo.delete_order, gss.upsert_order, gss.delete_order) for delivery after commit; replaces the pending payload of the same order; returns the outbox id';

CREATE FUNCTION @extschema@.push_spotgo_order()
RETURNS trigger
AS 'MODULE_PATHNAME', 'push_spotgo_order'
LANGUAGE C;

COMMENT ON FUNCTION @extschema@.push_spotgo_order() IS
'Trigger (AFTER INSERT OR UPDATE OR DELETE ... FOR EACH ROW): queue the row as a SpotGo order upsert, or a delete; arguments: mapping function (regprocedure, '''' for to_jsonb of the row), server';

CREATE FUNCTION @extschema@.push_gss_order()
RETURNS trigger
AS 'MODULE_PATHNAME', 'push_gss_order'
LANGUAGE C;

COMMENT ON FUNCTION @extschema@.push_gss_order() IS
'Trigger (AFTER INSERT OR UPDATE OR DELETE ... FOR EACH ROW): queue the row as a GoSweetSpot order upsert, or a delete; arguments: mapping function (regprocedure, '''' for to_jsonb of the row), server';

CREATE PROCEDURE @extschema@.drain_outbox(max_items int DEFAULT 10000)
AS 'MODULE_PATHNAME', 'drain_outbox'
LANGUAGE C;

COMMENT ON PROCEDURE @extschema@.drain_outbox(int) IS
'Deliver due outbox items now, committing after each batch (spotgo_gss.drain_batch); for pg_cron or by hand, with CALL';
REVOKE ALL ON PROCEDURE @extschema@.drain_outbox(int) FROM PUBLIC;

CREATE FUNCTION @extschema@.retry_dead(server text DEFAULT NULL)
RETURNS bigint
LANGUAGE sql
AS $$
  WITH retried AS (
    UPDATE @extschema@.outbox o
       SET state = 'pending', attempts = 0, next_attempt_at = pg_catalog.now(),
           claimed_by = NULL, claimed_at = NULL
     WHERE o.state = 'dead' AND ($1 IS NULL OR o.server = $1)
       AND o.id = (SELECT pg_catalog.max(d.id) FROM @extschema@.outbox d
                    WHERE d.state = 'dead' AND d.server = o.server AND d.object_key = o.object_key)
       AND NOT EXISTS (SELECT 1 FROM @extschema@.outbox p
                        WHERE p.state = 'pending' AND p.server = o.server AND p.object_key = o.object_key)
    RETURNING 1)
  SELECT pg_catalog.count(*) FROM retried
$$;

COMMENT ON FUNCTION @extschema@.retry_dead(text) IS
'Put dead outbox items (of one server, or all) back in the queue; an item whose order has a newer pending change stays dead; returns how many';
REVOKE ALL ON FUNCTION @extschema@.retry_dead(text) FROM PUBLIC;

CREATE VIEW @extschema@.outbox_status AS
  SELECT server, state, pg_catalog.count(*) AS items, pg_catalog.min(enqueued_at) AS oldest,
         pg_catalog.max(attempts) AS max_attempts
    FROM @extschema@.outbox
   GROUP BY server, state;

COMMENT ON VIEW @extschema@.outbox_status IS
'Outbox items per server and state: how many, the enqueue time of the oldest, the most attempts';
GRANT SELECT ON @extschema@.outbox_status TO PUBLIC;

-- ---------------------------------------------------------------------------
-- Scheduled sync into local tables (run by pg_cron)
-- ---------------------------------------------------------------------------

CREATE TABLE @extschema@.gss_orders_local (
  LIKE @extschema@.gss_order,
  server      text NOT NULL,
  synced_at   timestamptz NOT NULL,
  deleted_at  timestamptz,
  open        boolean NOT NULL DEFAULT false,
  PRIMARY KEY (server, packingslipno)
);

COMMENT ON TABLE @extschema@.gss_orders_local IS
'Local copy of GoSweetSpot customer orders, kept by spotgo_gss.sync_gss_orders(); open: seen in the last open-orders listing; deleted_at: gone remotely';
REVOKE ALL ON @extschema@.gss_orders_local FROM PUBLIC;

CREATE TABLE @extschema@.spotgo_orders_local (
  LIKE @extschema@.spotgo_order,
  server      text NOT NULL,
  synced_at   timestamptz NOT NULL,
  deleted_at  timestamptz,
  PRIMARY KEY (server, order_id)
);

COMMENT ON TABLE @extschema@.spotgo_orders_local IS
'Local copy of SpotGo orders, kept by spotgo_gss.sync_spotgo_orders(); deleted_at: gone remotely (seen by a full refresh)';
REVOKE ALL ON @extschema@.spotgo_orders_local FROM PUBLIC;

CREATE TABLE @extschema@.sync_state (
  server          text NOT NULL,
  resource        text NOT NULL CHECK (resource IN ('gss_orders', 'spotgo_orders')),
  watermark       timestamptz,
  last_run_start  timestamptz,
  last_run_end    timestamptz,
  rows_changed    bigint,
  last_error      text,
  PRIMARY KEY (server, resource)
);

COMMENT ON TABLE @extschema@.sync_state IS
'One row per (server, resource): the watermark (start of the last successful run) and the outcome of the last run';
REVOKE ALL ON @extschema@.sync_state FROM PUBLIC;

CREATE VIEW @extschema@.sync_status AS
  SELECT s.server, s.resource, s.watermark, s.last_run_start, s.last_run_end, s.rows_changed,
         s.last_error, s.last_error IS NULL AS ok,
         CASE s.resource
           WHEN 'gss_orders' THEN (SELECT pg_catalog.count(*) FROM @extschema@.gss_orders_local l
                                    WHERE l.server = s.server AND l.deleted_at IS NULL)
           ELSE (SELECT pg_catalog.count(*) FROM @extschema@.spotgo_orders_local l
                  WHERE l.server = s.server AND l.deleted_at IS NULL)
         END AS local_rows
    FROM @extschema@.sync_state s;

COMMENT ON VIEW @extschema@.sync_status IS
'Scheduled syncs: watermark, last run, rows changed, last error, ok, and the local row count (not deleted)';
REVOKE ALL ON @extschema@.sync_status FROM PUBLIC;

-- the start and end of a run of one (server, resource): the advisory lock, and the outcome
CREATE FUNCTION @extschema@.sync_begin(p_server text, p_resource text)
RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
  IF pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtextextended('spotgo_gss:' || p_server || ':' || p_resource, 0)) THEN
    RETURN true;
  END IF;
  RAISE NOTICE 'a % sync of server "%" is already running; skipped', p_resource, p_server;
  RETURN false;
END $$;

COMMENT ON FUNCTION @extschema@.sync_begin(text, text) IS
'Internal: takes the transaction-level advisory lock of a sync run; false, with a NOTICE, when another run holds it';
REVOKE ALL ON FUNCTION @extschema@.sync_begin(text, text) FROM PUBLIC;

CREATE FUNCTION @extschema@.sync_finish(p_server text, p_resource text, p_start timestamptz,
                                        p_rows bigint, p_error text)
RETURNS bigint
LANGUAGE plpgsql
AS $$
BEGIN
  INSERT INTO @extschema@.sync_state AS s
         (server, resource, watermark, last_run_start, last_run_end, rows_changed, last_error)
  VALUES (p_server, p_resource, CASE WHEN p_error IS NULL THEN p_start END, p_start,
          pg_catalog.clock_timestamp(), CASE WHEN p_error IS NULL THEN p_rows END, p_error)
  ON CONFLICT (server, resource) DO UPDATE
     SET watermark = CASE WHEN p_error IS NULL THEN p_start ELSE s.watermark END,
         last_run_start = excluded.last_run_start, last_run_end = excluded.last_run_end,
         rows_changed = CASE WHEN p_error IS NULL THEN p_rows ELSE s.rows_changed END,
         last_error = excluded.last_error;
  IF p_error IS NULL THEN
    RETURN p_rows;
  END IF;
  RAISE WARNING '% sync of server "%" failed: %',
    CASE p_resource WHEN 'gss_orders' THEN 'GoSweetSpot' ELSE 'SpotGo' END, p_server, p_error
    USING HINT = 'The local copy and the watermark are unchanged; see spotgo_gss.sync_status.';
  RETURN NULL;
END $$;

COMMENT ON FUNCTION @extschema@.sync_finish(text, text, timestamptz, bigint, text) IS
'Internal: records the outcome of a sync run in spotgo_gss.sync_state (the watermark moves only on success), warns on failure; returns rows changed, or NULL';
REVOKE ALL ON FUNCTION @extschema@.sync_finish(text, text, timestamptz, bigint, text) FROM PUBLIC;

-- sync runs stage each listing in a temporary table of the session, so memory stays bounded
-- however many orders an account has; set operations (EXCEPT) on it keep the plans independent
-- of statistics, which a freshly filled table does not have
CREATE FUNCTION @extschema@.sync_stage(p_resource text)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
  IF p_resource = 'gss_orders' THEN
    IF pg_catalog.to_regclass('pg_temp.spotgo_gss_gss_stage') IS NULL THEN
      CREATE TEMP TABLE spotgo_gss_gss_stage (LIKE @extschema@.gss_order, open boolean NOT NULL);
    ELSE
      TRUNCATE pg_temp.spotgo_gss_gss_stage;
    END IF;
  ELSE
    IF pg_catalog.to_regclass('pg_temp.spotgo_gss_spotgo_stage') IS NULL THEN
      CREATE TEMP TABLE spotgo_gss_spotgo_stage (LIKE @extschema@.spotgo_order);
    ELSE
      TRUNCATE pg_temp.spotgo_gss_spotgo_stage;
    END IF;
  END IF;
END $$;

COMMENT ON FUNCTION @extschema@.sync_stage(text) IS
'Internal: creates or empties the session''s staging table of a sync run';
REVOKE ALL ON FUNCTION @extschema@.sync_stage(text) FROM PUBLIC;

CREATE FUNCTION @extschema@.sync_gss_apply(p_server text, p_now timestamptz)
RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
  n bigint;
BEGIN
  -- an order in both listings counts as open
  INSERT INTO @extschema@.gss_orders_local AS l (packingslipno, consignee, address1, address2, suburb, city, postcode, country, delvref, delvinstructions, contactname, contactphone, email, rawaddress, costcentre, isrural, notrural, status, ticketnumber, trackingurl, picked, delivered, manualticket, products, packages, extra, server, synced_at, deleted_at, open)
  SELECT DISTINCT ON (m.packingslipno) m.packingslipno, m.consignee, m.address1, m.address2, m.suburb, m.city, m.postcode, m.country, m.delvref, m.delvinstructions, m.contactname, m.contactphone, m.email, m.rawaddress, m.costcentre, m.isrural, m.notrural, m.status, m.ticketnumber, m.trackingurl, m.picked, m.delivered, m.manualticket, m.products, m.packages, m.extra, p_server, p_now, NULL, m.open
    FROM pg_temp.spotgo_gss_gss_stage m
   ORDER BY m.packingslipno, m.open DESC
  ON CONFLICT (server, packingslipno) DO UPDATE
     SET consignee = excluded.consignee,
           address1 = excluded.address1,
           address2 = excluded.address2,
           suburb = excluded.suburb,
           city = excluded.city,
           postcode = excluded.postcode,
           country = excluded.country,
           delvref = excluded.delvref,
           delvinstructions = excluded.delvinstructions,
           contactname = excluded.contactname,
           contactphone = excluded.contactphone,
           email = excluded.email,
           rawaddress = excluded.rawaddress,
           costcentre = excluded.costcentre,
           isrural = excluded.isrural,
           notrural = excluded.notrural,
           status = excluded.status,
           ticketnumber = excluded.ticketnumber,
           trackingurl = excluded.trackingurl,
           picked = excluded.picked,
           delivered = excluded.delivered,
           manualticket = excluded.manualticket,
           products = excluded.products,
           packages = excluded.packages,
           extra = excluded.extra,
           open = excluded.open, deleted_at = NULL, synced_at = excluded.synced_at
   WHERE (l.consignee, l.address1, l.address2, l.suburb, l.city, l.postcode, l.country, l.delvref, l.delvinstructions, l.contactname, l.contactphone, l.email, l.rawaddress, l.costcentre, l.isrural, l.notrural, l.status, l.ticketnumber, l.trackingurl, l.picked, l.delivered, l.manualticket, l.products, l.packages, l.extra, l.open, l.deleted_at)
         IS DISTINCT FROM
         (excluded.consignee, excluded.address1, excluded.address2, excluded.suburb, excluded.city, excluded.postcode, excluded.country, excluded.delvref, excluded.delvinstructions, excluded.contactname, excluded.contactphone, excluded.email, excluded.rawaddress, excluded.costcentre, excluded.isrural, excluded.notrural, excluded.status, excluded.ticketnumber, excluded.trackingurl, excluded.picked, excluded.delivered, excluded.manualticket, excluded.products, excluded.packages, excluded.extra, excluded.open, excluded.deleted_at);
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;

COMMENT ON FUNCTION @extschema@.sync_gss_apply(text, timestamptz) IS
'Internal: writes the staged GoSweetSpot orders into spotgo_gss.gss_orders_local, leaving unchanged rows alone; returns rows written';
REVOKE ALL ON FUNCTION @extschema@.sync_gss_apply(text, timestamptz) FROM PUBLIC;

CREATE FUNCTION @extschema@.sync_gss_orders(full_refresh boolean DEFAULT false, server text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SET jit = off
AS $$
#variable_conflict use_column
DECLARE
  v_server  text := coalesce(server, pg_catalog.current_setting('spotgo_gss.gss_server', true), 'gss');
  v_start   timestamptz := pg_catalog.clock_timestamp();
  v_overlap interval;
  v_mark    timestamptz;
  v_missing text[];
  v_gone    text[];
  v_num     text;
  v_status  @extschema@.gss_order_status;
  v_changed bigint := 0;
  n         bigint;
  v_error   text;
  v_detail  text;
BEGIN
  IF NOT @extschema@.sync_begin(v_server, 'gss_orders') THEN
    RETURN NULL;
  END IF;
  SELECT s.watermark INTO v_mark FROM @extschema@.sync_state s
   WHERE s.server = v_server AND s.resource = 'gss_orders';

  BEGIN
    v_overlap := coalesce(pg_catalog.current_setting('spotgo_gss.sync_overlap', true), '1h')::interval;
    PERFORM @extschema@.sync_stage('gss_orders');
    -- (1) orders created since the watermark less the overlap (all of them on a first or full run)
    INSERT INTO pg_temp.spotgo_gss_gss_stage
    SELECT o.*, false FROM @extschema@.gss_customer_orders(
             created_from => CASE WHEN full_refresh OR v_mark IS NULL THEN NULL ELSE v_mark - v_overlap END,
             include_products => true, server => v_server) o;
    -- (2) the open orders, refreshed on every run
    INSERT INTO pg_temp.spotgo_gss_gss_stage
    SELECT o.*, true FROM @extschema@.gss_customer_orders(
             exclude_completed => true, include_products => true, server => v_server) o;

    -- (3) local rows that were open (any row, on a full run) but are in neither listing
    SELECT pg_catalog.array_agg(x.packingslipno) INTO v_missing
      FROM (SELECT l.packingslipno FROM @extschema@.gss_orders_local l
             WHERE l.server = v_server AND l.deleted_at IS NULL AND (l.open OR full_refresh)
            EXCEPT
            SELECT s.packingslipno FROM pg_temp.spotgo_gss_gss_stage s) x;

    v_changed := @extschema@.sync_gss_apply(v_server, v_start);

    IF v_missing IS NOT NULL AND NOT full_refresh THEN
      -- completed or vanished: look them up by number (50 a request; a comma cannot be sent)
      PERFORM @extschema@.sync_stage('gss_orders');
      INSERT INTO pg_temp.spotgo_gss_gss_stage
      SELECT o.*, false FROM @extschema@.gss_customer_orders(
               packingslipnos => ARRAY(SELECT x FROM unnest(v_missing) x WHERE pg_catalog.strpos(x, ',') = 0),
               include_products => true, server => v_server) o;
      v_changed := v_changed + @extschema@.sync_gss_apply(v_server, v_start);
      v_gone := ARRAY(SELECT x FROM unnest(v_missing) x WHERE pg_catalog.strpos(x, ',') = 0
                      EXCEPT SELECT s.packingslipno FROM pg_temp.spotgo_gss_gss_stage s);
      -- a number with a comma goes by the status path, one at a time
      FOR v_num IN SELECT x FROM unnest(v_missing) x WHERE pg_catalog.strpos(x, ',') > 0 LOOP
        v_status := @extschema@.gss_order_status(v_num, v_server);
        IF v_status.packingslipno IS NULL THEN
          v_gone := v_gone || v_num;
        ELSE
          UPDATE @extschema@.gss_orders_local l
             SET status = v_status.status, ticketnumber = v_status.ticketnumber,
                 trackingurl = v_status.trackingurl, picked = v_status.picked,
                 delivered = v_status.delivered, open = false, synced_at = v_start
           WHERE l.server = v_server AND l.packingslipno = v_num;
          GET DIAGNOSTICS n = ROW_COUNT;
          v_changed := v_changed + n;
        END IF;
      END LOOP;
    ELSE
      v_gone := v_missing;
    END IF;

    -- gone remotely: kept, marked
    UPDATE @extschema@.gss_orders_local l SET deleted_at = v_start, open = false, synced_at = v_start
     WHERE l.server = v_server AND l.deleted_at IS NULL AND l.packingslipno = ANY (v_gone);
    GET DIAGNOSTICS n = ROW_COUNT;
    v_changed := v_changed + n;
    TRUNCATE pg_temp.spotgo_gss_gss_stage;
  EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS v_error = MESSAGE_TEXT, v_detail = PG_EXCEPTION_DETAIL;
    v_error := v_error || CASE WHEN coalesce(v_detail, '') <> '' THEN ': ' || v_detail ELSE '' END;
  END;

  RETURN @extschema@.sync_finish(v_server, 'gss_orders', v_start, v_changed, v_error);
END $$;

COMMENT ON FUNCTION @extschema@.sync_gss_orders(boolean, text) IS
'Bring spotgo_gss.gss_orders_local up to date: orders created since the watermark (less spotgo_gss.sync_overlap), the open orders, and open ones that completed or vanished; full_refresh lists everything and marks missing rows deleted; returns rows changed, NULL when it failed or another run holds the lock';
REVOKE ALL ON FUNCTION @extschema@.sync_gss_orders(boolean, text) FROM PUBLIC;

CREATE FUNCTION @extschema@.sync_spotgo_orders(full_refresh boolean DEFAULT false, server text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SET jit = off
AS $$
#variable_conflict use_column
DECLARE
  v_server  text := coalesce(server, pg_catalog.current_setting('spotgo_gss.spotgo_server', true), 'spotgo');
  v_start   timestamptz := pg_catalog.clock_timestamp();
  v_filter  jsonb;
  v_changed bigint := 0;
  n         bigint;
  v_error   text;
  v_detail  text;
BEGIN
  IF NOT @extschema@.sync_begin(v_server, 'spotgo_orders') THEN
    RETURN NULL;
  END IF;
  SELECT (SELECT o.option_value FROM pg_catalog.pg_options_to_table(s.srvoptions) o
           WHERE o.option_name = 'sync_filter')::jsonb
    INTO v_filter
    FROM pg_catalog.pg_foreign_server s WHERE s.srvname = v_server;

  BEGIN
    -- no changed-since filter exists: every run reads every page
    PERFORM @extschema@.sync_stage('spotgo_orders');
    INSERT INTO pg_temp.spotgo_gss_spotgo_stage
    SELECT * FROM @extschema@.spotgo_query_orders(coalesce(v_filter, '{}'), v_server);

    INSERT INTO @extschema@.spotgo_orders_local AS l
           (order_id, order_number, status, created_at, carrier_name, carrier_email, carrier_vat_code,
            share_url, "order", internal_comments, server, synced_at, deleted_at)
    SELECT DISTINCT ON (q.order_id) q.order_id, q.order_number, q.status, q.created_at,
           q.carrier_name, q.carrier_email, q.carrier_vat_code, q.share_url, q."order",
           q.internal_comments, v_server, v_start, NULL
      FROM pg_temp.spotgo_gss_spotgo_stage q
     WHERE q.order_id IS NOT NULL
    ON CONFLICT (server, order_id) DO UPDATE
       SET order_number = excluded.order_number, status = excluded.status, created_at = excluded.created_at,
           carrier_name = excluded.carrier_name, carrier_email = excluded.carrier_email,
           carrier_vat_code = excluded.carrier_vat_code, share_url = excluded.share_url,
           "order" = excluded."order", internal_comments = excluded.internal_comments,
           deleted_at = NULL, synced_at = excluded.synced_at
     WHERE (l."order", l.deleted_at) IS DISTINCT FROM (excluded."order", excluded.deleted_at);
    GET DIAGNOSTICS n = ROW_COUNT;
    v_changed := n;

    IF full_refresh THEN
      UPDATE @extschema@.spotgo_orders_local l SET deleted_at = v_start, synced_at = v_start
       WHERE l.server = v_server AND l.deleted_at IS NULL
         AND l.order_id IN (SELECT k.order_id FROM @extschema@.spotgo_orders_local k
                             WHERE k.server = v_server AND k.deleted_at IS NULL
                            EXCEPT SELECT q.order_id FROM pg_temp.spotgo_gss_spotgo_stage q);
      GET DIAGNOSTICS n = ROW_COUNT;
      v_changed := v_changed + n;
    END IF;
    TRUNCATE pg_temp.spotgo_gss_spotgo_stage;
  EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS v_error = MESSAGE_TEXT, v_detail = PG_EXCEPTION_DETAIL;
    v_error := v_error || CASE WHEN coalesce(v_detail, '') <> '' THEN ': ' || v_detail ELSE '' END;
  END;

  RETURN @extschema@.sync_finish(v_server, 'spotgo_orders', v_start, v_changed, v_error);
END $$;

COMMENT ON FUNCTION @extschema@.sync_spotgo_orders(boolean, text) IS
'Bring spotgo_gss.spotgo_orders_local up to date from every page of the order query (narrowed by the server option sync_filter); full_refresh also marks missing rows deleted; returns rows changed, NULL when it failed or another run holds the lock';
REVOKE ALL ON FUNCTION @extschema@.sync_spotgo_orders(boolean, text) FROM PUBLIC;

