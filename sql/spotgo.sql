--
-- spotgo: the SpotGo CarrierPortal order functions against the sandbox,
-- checking returned values and what the sandbox received.
--
SELECT sb.reset();

-- upsert: created, then updated; the request as SpotGo wants it
SELECT r ->> 'created' AS created, r ->> 'updated' AS updated, r ->> 'linkChanged' AS link_changed,
       r -> 'order' ->> 'orderNumber' AS order_number, r -> 'order' ->> 'status' AS status
FROM spotgo_gss.spotgo_upsert_order($${
  "orderNumber": "ORD-1001",
  "manager": {"name": "Maria", "email": "maria@example.com"},
  "carrier": {"name": "Trans Sp. z o.o.", "email": "ops@trans.example", "vatCode": "PL5260001246"},
  "internalComments": "fragile",
  "requiredDocumentTypes": "cmr",
  "details": {"weight": 1200.5, "licensePlates": ["WX12345"]},
  "locations": [
    {"sequence": 1, "type": "Loading", "startDate": "2026-08-24T14:15:22.123Z", "endDate": "2026-08-24T16:00:00Z",
     "name": "Warehouse", "countryCode": "PL", "postalCode": "00-001", "city": "Warszawa", "street": "Prosta 1",
     "position": {"latitude": 52.23, "longitude": 21.01}},
    {"sequence": 2, "type": "Unloading", "startDate": "2026-08-25T08:00:00+02:00", "countryCode": "DE", "city": "Berlin"}]
}$$) r;
SELECT j ->> 'method' AS method, j ->> 'path' AS path,
       j -> 'headers' ->> 'x-api-key' AS key,
       j -> 'headers' ->> 'accept' AS accept,
       j -> 'headers' ->> 'content-type' AS content_type,
       j -> 'headers' ->> 'x-api-version' AS version,
       j -> 'json' = $${
  "orderNumber": "ORD-1001",
  "manager": {"name": "Maria", "email": "maria@example.com"},
  "carrier": {"name": "Trans Sp. z o.o.", "email": "ops@trans.example", "vatCode": "PL5260001246"},
  "internalComments": "fragile",
  "requiredDocumentTypes": "cmr",
  "details": {"weight": 1200.5, "licensePlates": ["WX12345"]},
  "locations": [
    {"sequence": 1, "type": "Loading", "startDate": "2026-08-24T14:15:22.123Z", "endDate": "2026-08-24T16:00:00Z",
     "name": "Warehouse", "countryCode": "PL", "postalCode": "00-001", "city": "Warszawa", "street": "Prosta 1",
     "position": {"latitude": 52.23, "longitude": 21.01}},
    {"sequence": 2, "type": "Unloading", "startDate": "2026-08-25T08:00:00+02:00", "countryCode": "DE", "city": "Berlin"}]
}$$::jsonb AS body_round_trip
FROM sb.journal() j;
SELECT count(*) AS journal_entries_with_key FROM sb.journal() j WHERE j::text LIKE '%spotgo-test-key%';

-- the same order number again: updated; a new carrier VAT code makes a new share link
CREATE TEMP TABLE up AS
SELECT 1 AS n, spotgo_gss.spotgo_upsert_order('{"orderNumber": "ORD-1001", "carrier": {"name": "Trans Sp. z o.o.", "vatCode": "PL5260001246"}, "internalComments": "still fragile"}') AS r
UNION ALL
SELECT 2, spotgo_gss.spotgo_upsert_order('{"orderNumber": "ORD-1001", "carrier": {"name": "Other Trans", "vatCode": "DE811907980"}}');
SELECT n, r ->> 'created' AS created, r ->> 'updated' AS updated, r ->> 'linkChanged' AS link_changed
FROM up ORDER BY n;
SELECT (SELECT r -> 'order' -> 'share' ->> 'shareUrl' FROM up WHERE n = 1) <>
       (SELECT r -> 'order' -> 'share' ->> 'shareUrl' FROM up WHERE n = 2) AS new_share_url;

-- create, get, update, delete
SELECT sb.clear_journal();
SELECT (spotgo_gss.spotgo_create_order('{"orderNumber": "ORD-2001", "carrier": {"name": "A", "vatCode": "PL1"}, "requiredDocumentTypes": ["cmr", "pod"]}')) ->> 'orderId' AS id \gset
SELECT o ->> 'orderNumber' AS order_number, o -> 'requiredDocumentTypes' AS doc_types, o ->> 'orderId' = :'id' AS same_id
FROM spotgo_gss.spotgo_get_order(:'id') o;
SELECT spotgo_gss.spotgo_update_order(:'id', '{"orderNumber": "ORD-2001", "carrier": {"name": "A", "vatCode": "PL1"}, "internalComments": "updated"}') ->> 'internalComments' AS comments;
SELECT spotgo_gss.spotgo_get_order(:'id') ->> 'internalComments' AS comments;
SELECT spotgo_gss.spotgo_delete_order(:'id') AS deleted;
SELECT spotgo_gss.spotgo_delete_order(:'id') AS deleted_again;
SELECT spotgo_gss.spotgo_get_order(:'id') IS NULL AS gone;
SELECT regexp_replace(j ->> 'path', '[0-9a-f-]{36}', '{id}', 'g') AS path, j ->> 'method' AS method, (j ->> 'status')::int AS status
FROM sb.journal() j ORDER BY (j ->> 'seq')::int;
-- SpotGo's refusals: ProblemDetails in DETAIL
SELECT * FROM sb.err($$SELECT spotgo_gss.spotgo_create_order('{"orderNumber": "ORD-1001"}')$$);
SELECT (spotgo_gss.spotgo_create_order('{"orderNumber": "ORD-3001", "carrier": {"name": "A", "vatCode": "PL1"}}')) ->> 'orderId' AS id3 \gset
SELECT state, regexp_replace(message, '[0-9a-f-]{36}', '{id}', 'g') AS message, detail, hint
FROM sb.err(format($$SELECT spotgo_gss.spotgo_update_order(%L, '{"orderNumber": "ORD-3001", "carrier": {"name": "B", "vatCode": "PL2"}}')$$, :'id3'));
SELECT * FROM sb.err($$SELECT spotgo_gss.spotgo_update_order('00000000-0000-0000-0000-000000000000', '{"orderNumber": "X"}')$$);
SELECT sb.fault('{"path": "/api/v1/orders/upsert", "status": 400, "body": "{\"type\": \"https://tools.ietf.org/html/rfc7231#section-6.5.1\", \"title\": \"One or more validation errors occurred.\", \"status\": 400, \"errors\": {\"Locations[0].CountryCode\": [\"The field CountryCode must be a string with a maximum length of 2.\"], \"OrderNumber\": [\"The OrderNumber field is required.\", \"Too short.\"]}}", "content_type": "application/problem+json"}');
SELECT * FROM sb.err($$SELECT spotgo_gss.spotgo_upsert_order('{"orderNumber": "ORD-X"}')$$);

-- a wrong key: 28000, and the key is in no part of the error
ALTER USER MAPPING FOR CURRENT_USER SERVER spotgo OPTIONS (SET api_key 'wrong-secret-key');
SELECT * FROM sb.err($$SELECT spotgo_gss.spotgo_get_order('00000000-0000-0000-0000-000000000000')$$);
SELECT concat(message, detail, hint) LIKE '%wrong-secret-key%' AS key_in_error
FROM sb.err($$SELECT spotgo_gss.spotgo_get_order('00000000-0000-0000-0000-000000000000')$$);
ALTER USER MAPPING FOR CURRENT_USER SERVER spotgo OPTIONS (SET api_key 'spotgo-test-key');
-- the key header and the version come from the server's options
SELECT sb.call('config', '{"spotgo_key_header": "Authorization-Key"}') IS NOT NULL AS configured;
ALTER SERVER spotgo OPTIONS (ADD api_key_header 'Authorization-Key', ADD api_version '2.1');
SELECT sb.clear_journal();
SELECT spotgo_gss.spotgo_get_order('00000000-0000-0000-0000-000000000000') IS NULL AS unknown;
SELECT j -> 'headers' ->> 'authorization-key' AS key, j -> 'headers' ? 'x-api-key' AS old_header,
       j -> 'headers' ->> 'accept' AS accept, j -> 'headers' ->> 'x-api-version' AS version, j ->> 'auth' AS auth
FROM sb.journal() j;
ALTER SERVER spotgo OPTIONS (DROP api_key_header, DROP api_version);
SELECT sb.call('config', '{"spotgo_key_header": "X-Api-Key"}') IS NOT NULL AS configured;

-- query: 2,500 orders in pages of 100, each request after the first with a token
SELECT sb.reset();
SELECT sb.call('spotgo/orders', '{"generate": {"count": 2500, "prefix": "SG-"}}') IS NOT NULL AS seeded;
ALTER SERVER spotgo OPTIONS (ADD page_size '100');
SELECT count(*), count(DISTINCT order_id), count(DISTINCT order_number),
       count(*) FILTER (WHERE status = 'Created') AS created,
       count(*) FILTER (WHERE carrier_name IS NOT NULL AND share_url IS NOT NULL AND created_at IS NOT NULL) AS complete,
       count(*) FILTER (WHERE "order" ->> 'orderId' = order_id::text) AS whole_item
FROM spotgo_gss.spotgo_query_orders();
SELECT count(*) AS requests,
       count(*) FILTER (WHERE NOT j -> 'json' ? 'continuationToken') AS without_token,
       count(DISTINCT j -> 'json' ->> 'continuationToken') AS distinct_tokens,
       min((j -> 'json' ->> 'pageSize')::int) AS page_size, count(DISTINCT j ->> 'conn') AS connections
FROM sb.journal() j;
-- the first request carries no token; every later one the token of the page before
SELECT (SELECT j -> 'json' ? 'continuationToken' FROM sb.journal() j WHERE (j ->> 'seq')::int = 1) AS first_has_token;
-- a filter narrows the result and is passed through as written
SELECT sb.clear_journal();
SELECT order_number, status, carrier_name FROM spotgo_gss.spotgo_query_orders('{"orderNumber": "SG-0001", "status": ["Created"]}') ORDER BY 1 LIMIT 3;
SELECT count(*) FROM spotgo_gss.spotgo_query_orders('{"orderNumber": "SG-0001"}');
SELECT j -> 'json' AS body FROM sb.journal() j ORDER BY (j ->> 'seq')::int LIMIT 1;
SELECT count(*) FROM spotgo_gss.spotgo_query_orders('{"status": ["Delivered"]}');
-- a pageSize of the filter's own wins
SELECT sb.clear_journal();
SELECT count(*) FROM spotgo_gss.spotgo_query_orders('{"pageSize": 1000}');
SELECT count(*) AS requests FROM sb.journal();
ALTER SERVER spotgo OPTIONS (DROP page_size);

-- documents: 100 kB with every byte value, uploaded and read back unchanged
CREATE TEMP TABLE doc AS
SELECT decode(string_agg(lpad(to_hex(i % 256), 2, '0'), '' ORDER BY i), 'hex') AS content
FROM generate_series(0, 102399) i;
SELECT (spotgo_gss.spotgo_create_order('{"orderNumber": "DOC-1"}')) ->> 'orderId' AS doc_order \gset
SELECT sb.clear_journal();
SELECT d ->> 'name' AS name, d ->> 'documentType' AS type, d ->> 'status' AS status, d ->> 'documentId' AS doc_id
FROM doc, spotgo_gss.spotgo_upload_document(:'doc_order', content, 'cmr scan ż.pdf', 'cmr') d \gset
SELECT :'name' AS name, :'type' AS type, :'status' AS status;
SELECT j ->> 'method' AS method, regexp_replace(j ->> 'path', '[0-9a-f-]{36}', '{id}', 'g') AS path,
       split_part(j -> 'headers' ->> 'content-type', ';', 1) AS content_type
FROM sb.journal() j;
SELECT spotgo_gss.spotgo_document_content(:'doc_order', :'doc_id') = content AS same_bytes,
       length(spotgo_gss.spotgo_document_content(:'doc_order', :'doc_id')) AS bytes
FROM doc;
SELECT d.content_type, d.filename, d.content = doc.content AS same_bytes
FROM doc, spotgo_gss.spotgo_document(:'doc_order', :'doc_id') d;
SELECT count(*) AS rows_for_unknown FROM spotgo_gss.spotgo_document(:'doc_order', '00000000-0000-0000-0000-000000000000');
SELECT spotgo_gss.spotgo_document_content(:'doc_order', '00000000-0000-0000-0000-000000000000') IS NULL AS unknown;
-- status: Processing -> Rejected, then no further change
SELECT sb.clear_journal();
SELECT s ->> 'status' AS status FROM spotgo_gss.spotgo_set_document_status(:'doc_order', :'doc_id', 'Rejected', 'blurred', 'please rescan') s;
SELECT j -> 'json' AS body FROM sb.journal() j;
SELECT state, regexp_replace(message, '[0-9a-f-]{36}', '{id}', 'g') AS message, detail, hint
FROM sb.err(format($$SELECT spotgo_gss.spotgo_set_document_status(%L, %L, 'Accepted')$$, :'doc_order', :'doc_id'));
SELECT * FROM sb.err(format($$SELECT spotgo_gss.spotgo_set_document_status(%L, %L, 'Maybe')$$, :'doc_order', :'doc_id'));
SELECT spotgo_gss.spotgo_get_order(:'doc_order') -> 'documents' -> 0 ->> 'status' AS document_status;

-- bad input is refused before any request, naming the JSON path
SELECT sb.clear_journal();
SELECT * FROM sb.err($$SELECT spotgo_gss.spotgo_upsert_order('[1]')$$);
SELECT * FROM sb.err($$SELECT spotgo_gss.spotgo_upsert_order('{"carrier": {"name": "x"}}')$$);
SELECT * FROM sb.err($$SELECT spotgo_gss.spotgo_upsert_order('{"orderNumber": ""}')$$);
SELECT * FROM sb.err($$SELECT spotgo_gss.spotgo_upsert_order('{"orderNumber": 7}')$$);
SELECT * FROM sb.err($$SELECT spotgo_gss.spotgo_upsert_order('{"orderNumber": "A", "carrier": "Trans"}')$$);
SELECT * FROM sb.err($$SELECT spotgo_gss.spotgo_upsert_order('{"orderNumber": "A", "locations": {"sequence": 1}}')$$);
SELECT * FROM sb.err($$SELECT spotgo_gss.spotgo_upsert_order('{"orderNumber": "A", "locations": [{"sequence": 1}, "B"]}')$$);
SELECT * FROM sb.err($$SELECT spotgo_gss.spotgo_upsert_order('{"orderNumber": "A", "locations": [{"type": "Loading"}]}')$$);
SELECT * FROM sb.err($$SELECT spotgo_gss.spotgo_upsert_order('{"orderNumber": "A", "locations": [{"sequence": 1.5}]}')$$);
SELECT * FROM sb.err($$SELECT spotgo_gss.spotgo_upsert_order('{"orderNumber": "A", "locations": [{"sequence": 1, "startDate": "2026-08-24T14:15:22Z"}, {"sequence": 2, "startDate": "24.08.2026"}]}')$$);
SELECT * FROM sb.err($$SELECT spotgo_gss.spotgo_upsert_order('{"orderNumber": "A", "locations": [{"sequence": 1, "endDate": "2026-02-30T10:00:00Z"}]}')$$);
SELECT * FROM sb.err($$SELECT spotgo_gss.spotgo_upsert_order('{"orderNumber": "A", "locations": [{"sequence": 1, "countryCode": "POL"}]}')$$);
SELECT * FROM sb.err($$SELECT spotgo_gss.spotgo_upsert_order('{"orderNumber": "A", "locations": [{"sequence": 1, "position": {"latitude": 91, "longitude": 0}}]}')$$);
SELECT * FROM sb.err($$SELECT spotgo_gss.spotgo_upsert_order('{"orderNumber": "A", "locations": [{"sequence": 1, "position": {"latitude": 0, "longitude": "east"}}]}')$$);
SELECT * FROM sb.err($$SELECT spotgo_gss.spotgo_upsert_order('{"orderNumber": "A", "requiredDocumentTypes": 5}')$$);
SELECT * FROM sb.err($$SELECT spotgo_gss.spotgo_upsert_order('{"orderNumber": "A", "requiredDocumentTypes": ["cmr", 5]}')$$);
SELECT * FROM sb.err($$SELECT spotgo_gss.spotgo_upsert_order('{"orderNumber": "A", "details": {"weight": -1}}')$$);
SELECT * FROM sb.err($$SELECT * FROM spotgo_gss.spotgo_query_orders('[]')$$);
SELECT * FROM sb.err($$SELECT * FROM spotgo_gss.spotgo_query_orders('{"continuationToken": "abc"}')$$);
SELECT * FROM sb.err($$SELECT spotgo_gss.spotgo_upload_document('00000000-0000-0000-0000-000000000000', '\x00', '', 'cmr')$$);
SELECT * FROM sb.err($$SELECT spotgo_gss.spotgo_upload_document('00000000-0000-0000-0000-000000000000', '\x00', E'a\r\nb.pdf', 'cmr')$$);
-- other location types and document types are not rejected (the lists are partial)
SELECT spotgo_gss.spotgo_upsert_order('{"orderNumber": "A", "requiredDocumentTypes": ["cmr", "weighing-slip"], "locations": [{"sequence": 1, "type": "Customs"}]}') ->> 'created' AS created;
SELECT count(*) AS requests FROM sb.journal();
