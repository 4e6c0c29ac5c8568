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
CREATE INDEX outbox_due ON @extschema@.outbox (next_attempt_at) WHERE state = 'pending';
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
