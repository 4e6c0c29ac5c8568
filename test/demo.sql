-- test/demo.sql: a tour of spotgo_gss against the sandbox API.
--
-- Run by scripts/demo:
--   psql -X -v ON_ERROR_STOP=1 -v sandbox_url=http://127.0.0.1:PORT -f test/demo.sql
-- Against the real APIs, drop base_url (or give the real one) and use real keys.

\set QUIET on
\pset null '(null)'

\echo '== 1. Install the extension (schema spotgo_gss)'
CREATE EXTENSION spotgo_gss;
\dx spotgo_gss

\echo '== 2. One foreign server per API, the secrets in user mappings'
CREATE SERVER gss FOREIGN DATA WRAPPER spotgo_gss
    OPTIONS (api 'gss', base_url :'sandbox_url', site_id '1234',
             support_email 'ops@example.com');
CREATE USER MAPPING FOR CURRENT_USER SERVER gss
    OPTIONS (access_key 'gss-test-key');

CREATE SERVER spotgo FOREIGN DATA WRAPPER spotgo_gss
    OPTIONS (api 'spotgo', base_url :'sandbox_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER spotgo
    OPTIONS (api_key 'spotgo-test-key');

SELECT srvname AS server, array_to_string(srvoptions, ', ') AS options
  FROM pg_foreign_server
 ORDER BY 1;

\echo '== 3. GoSweetSpot: publish three orders (PUT /api/customerorders)'
\echo '   One packing-slip number contains "#": it is percent-encoded in URLs.'
SELECT packingslipno, accepted, message
  FROM spotgo_gss.gss_upsert_orders('[
    {"packingslipno": "DEMO-1001", "consignee": "Kiwi Outdoor Ltd",
     "address1": "12 Queen Street", "suburb": "Auckland Central", "city": "Auckland",
     "postcode": "1010", "country": "NZ", "contactname": "Aroha Smith",
     "contactphone": "+64 9 555 0101", "email": "aroha@example.com",
     "products": [{"productcode": "TENT-2P", "description": "Two-person tent",
                   "units": 1, "unitvalue": 249.00, "unitkg": 2.4}]},
    {"packingslipno": "DEMO-1002", "consignee": "Harbour Cafe",
     "address1": "3 Lambton Quay", "city": "Wellington", "postcode": "6011",
     "country": "NZ", "delvinstructions": "Leave at the back door"},
    {"packingslipno": "DEMO-1003#B", "consignee": "Southern Farms",
     "address1": "88 Rural Road", "city": "Gore", "postcode": "9710", "country": "NZ",
     "isrural": true}
  ]'::jsonb);

\echo '== 4. List every order, page by page (GET /api/customerorders)'
SELECT packingslipno, consignee, city, status
  FROM spotgo_gss.gss_customer_orders()
 ORDER BY 1;

\echo '== 5. GSS processes one order (the sandbox plays GSS: DEMO-1002 is picked)'
\getenv sandbox_ctl SANDBOX_CTL
\if :{?sandbox_ctl}
\! python3 "$SANDBOX_CTL" gss/process --json '{"packingslipno": "DEMO-1002", "status": {"Status": "PICKED", "ticketnumber": "GSS000123", "trackingurl": "https://track.example/GSS000123", "Picked": "2026-11-25T10:15:00"}}' >/dev/null
\else
\echo '   (skipped: SANDBOX_CTL is not set)'
\endif

\echo '== 6. Order status, one call per order (GET /v2/order/{packingslipno})'
\echo '   "DEMO-1003#B" travels as DEMO-1003%23B.'
SELECT s.packingslipno, s.status, s.ticketnumber, s.trackingurl, s.picked
  FROM unnest(ARRAY['DEMO-1002', 'DEMO-1003#B']) AS n,
       spotgo_gss.gss_order_status(n) AS s
 ORDER BY 1;

\echo '   An unknown packing-slip number gives NULL, not an error:'
SELECT spotgo_gss.gss_order_status('NO-SUCH-ORDER') IS NULL AS unknown_is_null;

\echo '== 7. Orders published but not yet processed (GET /v2/pendingorders)'
SELECT packingslipno, consignee, city
  FROM spotgo_gss.gss_pending_orders()
 ORDER BY 1;

\echo '== 8. Delete three orders (DELETE /api/customerorders?packingslipno=...)'
\echo '   GSS refuses to delete an order it has already processed.'
SELECT packingslipno, deleted, outcome
  FROM spotgo_gss.gss_delete_orders(ARRAY['DEMO-1001', 'DEMO-1002', 'DEMO-1003#B'])
 ORDER BY 1;

\echo '== 9. The list again'
SELECT packingslipno, consignee, city, status
  FROM spotgo_gss.gss_customer_orders()
 ORDER BY 1;

-- ---------------------------------------------------------------------------
\echo '== 10. SpotGo: create or update an order by its number (POST /api/v1/orders/upsert)'
SELECT r->>'created' AS created, r->>'updated' AS updated, r->>'linkChanged' AS link_changed,
       r->'order'->>'orderNumber' AS order_number
  FROM spotgo_gss.spotgo_upsert_order('{
         "orderNumber": "SG-DEMO-1",
         "carrier": {"name": "Vistula Cargo S.A.", "email": "dispatch@example.com",
                     "vatCode": "PL7010002137"},
         "requiredDocumentTypes": ["cmr"],
         "locations": [
           {"sequence": 1, "type": "Loading", "countryCode": "DE", "city": "Hamburg",
            "startDate": "2026-08-24T08:00:00Z", "endDate": "2026-08-24T12:00:00Z"},
           {"sequence": 2, "type": "Unloading", "countryCode": "PL", "city": "Warsaw",
            "startDate": "2026-08-25T08:00:00Z", "endDate": "2026-08-25T16:00:00Z"}]
       }'::jsonb) AS r;

\echo '== 11. SpotGo: the same order number again updates it'
SELECT r->>'created' AS created, r->>'updated' AS updated
  FROM spotgo_gss.spotgo_upsert_order('{"orderNumber": "SG-DEMO-1",
         "carrier": {"name": "Vistula Cargo S.A.", "vatCode": "PL7010002137"},
         "internalComments": "call before arrival"}'::jsonb) AS r;

\echo '== 12. SpotGo: query orders, every page (POST /api/v1/orders/query)'
SELECT order_number, status, carrier_name, internal_comments, share_url IS NOT NULL AS shared
  FROM spotgo_gss.spotgo_query_orders('{"orderNumber": "SG-DEMO"}'::jsonb)
 ORDER BY 1;

\echo '== 13. SpotGo: upload a document to the order, then read it back'
SELECT q.order_id AS demo_order_id
  FROM spotgo_gss.spotgo_query_orders('{"orderNumber": "SG-DEMO-1"}'::jsonb) AS q \gset
SELECT d->>'name' AS name, d->>'documentType' AS document_type, d->>'status' AS status,
       d->>'documentId' AS demo_document_id
  FROM spotgo_gss.spotgo_upload_document(:'demo_order_id',
         convert_to('%PDF-1.4 demo CMR', 'UTF8'), 'cmr-SG-DEMO-1.pdf', 'cmr') AS d \gset
SELECT :'name' AS name, :'document_type' AS document_type, :'status' AS status;
SELECT content_type, filename, convert_from(content, 'UTF8') AS content
  FROM spotgo_gss.spotgo_document(:'demo_order_id', :'demo_document_id');

\echo '== 14. SpotGo: accept the document, look at the order, delete it'
SELECT s->>'status' AS document_status
  FROM spotgo_gss.spotgo_set_document_status(:'demo_order_id', :'demo_document_id', 'Accepted') AS s;
SELECT o->>'orderNumber' AS order_number, jsonb_array_length(o->'documents') AS documents
  FROM spotgo_gss.spotgo_get_order(:'demo_order_id') AS o;
SELECT spotgo_gss.spotgo_delete_order(:'demo_order_id') AS deleted;

\echo 'Done.'
