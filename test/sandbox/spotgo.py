"""Imitation of the SpotGo CarrierPortal orders API (/api/v1/orders...).

State: orderId -> SpotgoOrder plus an index orderNumber -> orderId. An order keeps the
submitted fields (names matched case-insensitively, unknown ones dropped as SpotGo's model
binding does), its creation time, share link and uploaded documents (bytes kept verbatim).

Errors are RFC 7807 ProblemDetails with deterministic bodies (no trace ids), so tests may show
them in expected output. Query paging uses an opaque continuation token: urlsafe base64 of the
next offset, a digest of the filter, a random salt and an HMAC under a per-process key, so a
forged, truncated or re-filtered token is refused with 400. The owner (the Sandbox) holds its
lock around every call into this module.
"""

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from datetime import timedelta
from functools import partial
from urllib.parse import quote, unquote

from common import Response, decimal_value, dump_json, format_utc, load_json, parse_instant, \
    raw_number, utc_now
from multipart import form_boundary, parse_form

SUBMIT_FIELDS = ("orderNumber", "manager", "carrier", "internalComments",
                 "requiredDocumentTypes", "details", "locations")
_SUBMIT_SPELLING = {name.lower(): name for name in SUBMIT_FIELDS}
_OBJECT_FIELDS = ("manager", "carrier", "details")

SUCCESS_TYPE = "application/json; charset=utf-8; x-api-version=1.0"
PROBLEM_TYPE = "application/problem+json; charset=utf-8"
SHARE_BASE = "https://share.sandbox.local/"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
VALIDATION_TITLE = "One or more validation errors occurred."
# Fixed namespace so that generated orders get the same orderId in every run.
_GENERATED_NAMESPACE = uuid.UUID("6f1c2f4e-8a53-4c1e-9a53-5b0d2a7e9c11")

_PROBLEM_TYPES = {
    400: "https://tools.ietf.org/html/rfc7231#section-6.5.1",
    404: "https://tools.ietf.org/html/rfc7231#section-6.5.4",
    405: "https://tools.ietf.org/html/rfc7231#section-6.5.5",
    409: "https://tools.ietf.org/html/rfc7231#section-6.5.8",
    415: "https://tools.ietf.org/html/rfc7231#section-6.5.13",
}


def problem(status, title, errors=None, detail=None, problem_type=None):
    """A ProblemDetails Response."""
    body = {"type": problem_type or _PROBLEM_TYPES.get(status, "about:blank"),
            "title": title, "status": status}
    if detail is not None:
        body["detail"] = detail
    if errors is not None:
        body["errors"] = errors
    return Response(status, dump_json(body).encode("utf-8"), PROBLEM_TYPE)


def validation_problem(errors):
    """A 400 ProblemDetails listing field errors ({field: [message, ...]})."""
    return problem(400, VALIDATION_TITLE, errors=errors)


def not_found():
    return problem(404, "Not Found")


def ok(value):
    """A 200 answer with SpotGo's versioned JSON media type."""
    return Response(200, dump_json(value).encode("utf-8"), SUCCESS_TYPE)


def authorised(request, config):
    """True when the configured key header carries the configured key."""
    return request.header(config["spotgo_key_header"]) == config["spotgo_key"]


def version_ok(request):
    """True when Accept names an API version (`...; x-api-version=1.0`)."""
    return "x-api-version=" in (request.header("Accept") or "").lower()


class SpotgoDocument:
    """One uploaded document."""

    __slots__ = ("id", "name", "type", "comment", "status", "rejection_reason",
                 "content_type", "data")

    def __init__(self, name, doc_type, content_type, data, doc_id=None):
        self.id = doc_id or str(uuid.uuid4())
        self.name = name
        self.type = doc_type
        self.comment = None
        self.status = "Processing"
        self.rejection_reason = None
        self.content_type = content_type or "application/octet-stream"
        self.data = data

    def view(self):
        return {"documentId": self.id, "name": self.name, "documentType": self.type,
                "comment": self.comment, "status": self.status}

    def detail(self):
        """The view plus what only the sandbox shows (for assertions)."""
        return dict(self.view(), rejectionReason=self.rejection_reason,
                    contentType=self.content_type, size=len(self.data),
                    sha256=hashlib.sha256(self.data).hexdigest())


class SpotgoOrder:
    """One stored order.

    Generated orders pass `make` (a function returning the submit fields) instead of
    `fields`; the fields are built on first use (see gss.GssOrder).
    """

    __slots__ = ("id", "number", "created", "_fields", "_make", "share_url", "documents")

    def __init__(self, order_id, created, fields, share_url, number=None, make=None):
        self.id = order_id
        self.number = fields["orderNumber"] if fields is not None else number
        self.created = created
        self._fields = fields
        self._make = make
        self.share_url = share_url
        self.documents = {}

    @property
    def fields(self):
        if self._fields is None:
            self._fields = self._make()
            self._make = None
        return self._fields

    @fields.setter
    def fields(self, value):
        self._fields = value
        self._make = None
        self.number = value["orderNumber"]

    def sort_key(self):
        return (self.created, self.number)

    def view(self, detailed=False):
        fields = self.fields
        documents = [doc.detail() if detailed else doc.view()
                     for doc in self.documents.values()]
        return {
            "orderId": self.id,
            "status": "Created",
            "orderNumber": fields["orderNumber"],
            "createdAt": format_utc(self.created),
            "manager": fields["manager"],
            "carrier": fields["carrier"],
            "requiredDocumentTypes": _document_types(fields["requiredDocumentTypes"]),
            "internalComments": fields["internalComments"],
            "details": fields["details"],
            "locations": [] if fields["locations"] is None else fields["locations"],
            "documents": documents,
            "share": {"shareUrl": self.share_url},
        }


class SpotgoStore:
    """All SpotGo state plus the API's request handling."""

    def __init__(self):
        self._token_key = secrets.token_bytes(16)
        self.reset()

    def reset(self):
        self.orders = {}
        self.by_number = {}
        self._sorted = None

    def _changed(self):
        self._sorted = None

    # -----------------------------------------------------------------------------------------
    # Control operations (called for /_sandbox/spotgo/...)

    def seed(self, items):
        """Store orders given as submit objects plus optional `orderId`, `_created` and
        `documents` ([{name, documentType, status, comment, contentType, content|content_b64}]).

        Validates every item first; raises ValueError on a bad one. Returns how many.
        """
        if not isinstance(items, list):
            raise ValueError("orders must be an array")
        now = utc_now()
        orders = [_seed_order(item, now) for item in items]
        for order in orders:
            self._put(order)
        return len(orders)

    def generate(self, spec):
        """Store realistic orders (see generate_orders); returns how many."""
        count = 0
        for order in generate_orders(spec):
            self._put(order)
            count += 1
        return count

    def dump(self):
        """Every order, documents with size, content type, sha256 and rejection reason."""
        return {"orders": [order.view(detailed=True) for order in self._sorted_orders()]}

    # -----------------------------------------------------------------------------------------
    # The API

    def handle(self, request, auth_ok):
        """Answer one API request; `auth_ok` is the result of `authorised`."""
        route = _route(request)
        if route is None:
            return not_found()
        allowed, arguments = route
        if request.method not in allowed:
            return problem(405, "Method Not Allowed")
        if not auth_ok:
            return problem(401, "Unauthorized", problem_type="about:blank")
        if not version_ok(request):
            return problem(400, "Unsupported API version", problem_type="about:blank",
                           detail="Send Accept: application/json; x-api-version=1.0.")
        return getattr(self, allowed[request.method])(request, *arguments)

    def api_create(self, request):
        """POST /api/v1/orders."""
        fields, error = _submitted(request)
        if error:
            return error
        if fields["orderNumber"] in self.by_number:
            return _duplicate()
        return ok(self._create(fields).view())

    def api_update(self, request, order_id):
        """PUT /api/v1/orders/{orderId}: replace the fields; the carrier may not change."""
        order = self._find(order_id)
        if order is None:
            return not_found()
        fields, error = _submitted(request)
        if error:
            return error
        if _vat_code(fields["carrier"]) != _vat_code(order.fields["carrier"]):
            return problem(400, "Carrier cannot be changed.")
        owner = self.by_number.get(fields["orderNumber"])
        if owner is not None and owner != order.id:
            return _duplicate()
        self._replace_fields(order, fields)
        return ok(order.view())

    def api_upsert(self, request):
        """POST /api/v1/orders/upsert: create or update by orderNumber."""
        fields, error = _submitted(request)
        if error:
            return error
        order_id = self.by_number.get(fields["orderNumber"])
        if order_id is None:
            order = self._create(fields)
            return ok({"created": True, "updated": False, "linkChanged": False,
                       "order": order.view()})
        order = self.orders[order_id]
        link_changed = _vat_code(fields["carrier"]) != _vat_code(order.fields["carrier"])
        self._replace_fields(order, fields)
        if link_changed:
            order.share_url = _share_url()
        return ok({"created": False, "updated": True, "linkChanged": link_changed,
                   "order": order.view()})

    def api_delete(self, request, order_id):
        """DELETE /api/v1/orders/{orderId}: 204 without a body."""
        order = self._find(order_id)
        if order is None:
            return not_found()
        del self.orders[order.id]
        del self.by_number[order.number]
        self._changed()
        return Response(204)

    def api_get(self, request, order_id):
        """GET /api/v1/orders/{orderId}."""
        order = self._find(order_id)
        return not_found() if order is None else ok(order.view())

    def api_query(self, request):
        """POST /api/v1/orders/query: filtered search with continuation-token paging."""
        body, error = _json_body(request)
        if error:
            return error
        if not isinstance(body, dict):
            return validation_problem({"$": ["The JSON value could not be converted to "
                                             "OrderQueryModel."]})
        query = {key.lower(): value for key, value in body.items()}
        errors = {}
        page_size = _page_size(query.get("pagesize"), errors)
        matcher = _QueryFilter(query, errors)
        if errors:
            return validation_problem(errors)
        digest = _filter_digest(query)
        try:
            offset = self._read_token(query.get("continuationtoken"), digest)
        except ValueError:
            return problem(400, "Invalid continuation token.")
        matching = [order for order in self._sorted_orders() if matcher.accepts(order)]
        page = matching[offset:offset + page_size]
        following = offset + page_size
        token = self._make_token(following, digest) if following < len(matching) else None
        return ok({"items": [order.view() for order in page], "continuationToken": token})

    def api_upload(self, request, order_id):
        """POST /api/v1/orders/{orderId}/documents: multipart parts `file` and `documentType`."""
        order = self._find(order_id)
        if order is None:
            return not_found()
        boundary = form_boundary(request.header("Content-Type"))
        if boundary is None:
            return problem(415, "Unsupported Media Type")
        try:
            parts = parse_form(request.body, boundary)
        except ValueError as error:
            return validation_problem({"": ["Failed to read the request form. %s." % error]})
        file_part = _form_part(parts, "file", need_filename=True)
        type_part = _form_part(parts, "documentType")
        doc_type = type_part.content.decode("utf-8", "replace") if type_part else ""
        errors = {}
        if file_part is None:
            errors["file"] = ["The file field is required."]
        if not doc_type.strip():
            errors["documentType"] = ["The documentType field is required."]
        if errors:
            return validation_problem(errors)
        document = SpotgoDocument(file_part.filename, doc_type, file_part.content_type,
                                  file_part.content)
        order.documents[document.id] = document
        return ok(document.view())

    def api_content(self, request, order_id, document_id):
        """GET .../documents/{documentId}/content: the stored bytes."""
        document = self._find_document(order_id, document_id)
        if document is None:
            return not_found()
        return Response(200, document.data, document.content_type,
                        [("Content-Disposition", _attachment(document.name))])

    def api_document_status(self, request, order_id, document_id):
        """POST .../documents/{documentId}/status: Processing -> Accepted or Rejected."""
        document = self._find_document(order_id, document_id)
        if document is None:
            return not_found()
        body, error = _json_body(request)
        if error:
            return error
        change, errors = _status_change(body)
        if errors:
            return validation_problem(errors)
        if document.status != "Processing":
            return problem(409, "Invalid document status transition.",
                           detail="The document is %s." % document.status)
        document.status = change["status"]
        document.rejection_reason = change["rejectionReason"]
        if change["comment"] is not None:
            document.comment = change["comment"]
        return ok(document.view())

    # -----------------------------------------------------------------------------------------
    # Helpers

    def _find(self, order_id):
        """The order with this id (any uuid spelling), or None (also for a malformed id)."""
        try:
            key = str(uuid.UUID(order_id))
        except ValueError:
            return None
        return self.orders.get(key)

    def _find_document(self, order_id, document_id):
        order = self._find(order_id)
        if order is None:
            return None
        try:
            return order.documents.get(str(uuid.UUID(document_id)))
        except ValueError:
            return None

    def _create(self, fields):
        order = SpotgoOrder(str(uuid.uuid4()), utc_now(), fields, _share_url())
        self._put(order)
        return order

    def _put(self, order):
        """Store an order, replacing any with the same id or the same orderNumber."""
        for old_id in (order.id, self.by_number.get(order.number)):
            old = self.orders.pop(old_id, None) if old_id else None
            if old is not None:
                self.by_number.pop(old.number, None)
        self.orders[order.id] = order
        self.by_number[order.number] = order.id
        self._changed()

    def _replace_fields(self, order, fields):
        del self.by_number[order.number]
        order.fields = fields
        self.by_number[order.number] = order.id
        self._changed()

    def _sorted_orders(self):
        if self._sorted is None:
            self._sorted = sorted(self.orders.values(), key=SpotgoOrder.sort_key)
        return self._sorted

    def _make_token(self, offset, digest):
        payload = json.dumps({"o": offset, "f": digest, "n": secrets.token_hex(4)},
                             sort_keys=True, separators=(",", ":"))
        signature = hmac.new(self._token_key, payload.encode(), hashlib.sha256).hexdigest()
        packed = json.dumps({"p": payload, "s": signature[:24]}, separators=(",", ":"))
        return base64.urlsafe_b64encode(packed.encode()).decode().rstrip("=")

    def _read_token(self, token, digest):
        """The offset a token stands for (0 when there is none); ValueError if not valid."""
        if token is None or token == "":
            return 0
        if not isinstance(token, str):
            raise ValueError("token must be a string")
        try:
            packed = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            payload = packed["p"]
            expected = hmac.new(self._token_key, payload.encode(), hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected[:24], packed["s"]):
                raise ValueError("bad signature")
            fields = json.loads(payload)
        except (ValueError, TypeError, KeyError, AttributeError):
            raise ValueError("malformed token") from None
        if fields.get("f") != digest or not isinstance(fields.get("o"), int):
            raise ValueError("token belongs to another filter")
        return fields["o"]


class _QueryFilter:
    """The query call's filter (names lower-cased); problems are added to `errors`."""

    def __init__(self, query, errors):
        self.statuses = _string_set(query.get("status"), "Status", errors)
        self.number = _optional_string(query.get("ordernumber"), "OrderNumber", errors)
        carrier = _optional_string(query.get("carrier"), "Carrier", errors)
        self.carrier = carrier.lower() if carrier else None
        self.loading = _date_range(query.get("loadingdate"), "LoadingDate", errors)
        self.unloading = _date_range(query.get("unloadingdate"), "UnloadingDate", errors)

    def accepts(self, order):
        if self.statuses is not None and "created" not in self.statuses:
            return False
        if self.number and self.number not in order.number:
            return False
        if self.carrier and self.carrier not in _carrier_name(order.fields["carrier"]).lower():
            return False
        if self.loading and not _has_stop_within(order, "loading", self.loading):
            return False
        return not self.unloading or _has_stop_within(order, "unloading", self.unloading)


def _route(request):
    """Map a request to ({method: handler name}, path arguments) or None."""
    raw = request.segments()
    lower = [segment.lower() for segment in raw]
    if lower[:3] != ["api", "v1", "orders"]:
        return None
    rest, rest_lower = [unquote(part) for part in raw[3:]], lower[3:]
    if not rest:
        return {"POST": "api_create"}, ()
    if rest_lower == ["upsert"]:
        return {"POST": "api_upsert"}, ()
    if rest_lower == ["query"]:
        return {"POST": "api_query"}, ()
    if len(rest) == 1:
        return {"GET": "api_get", "PUT": "api_update", "DELETE": "api_delete"}, (rest[0],)
    if len(rest) == 2 and rest_lower[1] == "documents":
        return {"POST": "api_upload"}, (rest[0],)
    if len(rest) == 4 and rest_lower[1] == "documents":
        if rest_lower[3] == "content":
            return {"GET": "api_content"}, (rest[0], rest[2])
        if rest_lower[3] == "status":
            return {"POST": "api_document_status"}, (rest[0], rest[2])
    return None


def _json_body(request):
    """(parsed body, None) or (None, 400 ProblemDetails)."""
    if not request.body.strip():
        return None, validation_problem({"": ["A non-empty request body is required."]})
    try:
        return load_json(request.body), None
    except (ValueError, RecursionError):
        return None, validation_problem({"$": ["The request body is not valid JSON."]})


def _submitted(request):
    """(submit fields, None) or (None, 400 ProblemDetails) for an order body."""
    body, error = _json_body(request)
    if error:
        return None, error
    fields, errors = submit_fields(body)
    return (None, validation_problem(errors)) if errors else (fields, None)


def submit_fields(body):
    """An order submit object -> ({field: value} for every SUBMIT_FIELDS name, {errors})."""
    if not isinstance(body, dict):
        return None, {"$": ["The JSON value could not be converted to OrderSubmitModel."]}
    fields = dict.fromkeys(SUBMIT_FIELDS)
    for key, value in body.items():
        name = _SUBMIT_SPELLING.get(key.lower())
        if name:
            fields[name] = value
    errors = {}
    number = fields["orderNumber"]
    if number is None or isinstance(number, str) and not number.strip():
        errors["OrderNumber"] = ["The OrderNumber field is required."]
    elif not isinstance(number, str):
        errors["$.orderNumber"] = ["The JSON value could not be converted to System.String."]
    for name in _OBJECT_FIELDS:
        if fields[name] is not None and not isinstance(fields[name], dict):
            errors["$." + name] = ["The JSON value must be an object."]
    if fields["locations"] is not None and not isinstance(fields["locations"], list):
        errors["$.locations"] = ["The JSON value must be an array."]
    if fields["internalComments"] is not None and not isinstance(fields["internalComments"], str):
        errors["$.internalComments"] = ["The JSON value could not be converted to System.String."]
    types = fields["requiredDocumentTypes"]
    if not (types is None or isinstance(types, str)
            or isinstance(types, list) and all(isinstance(t, str) for t in types)):
        errors["$.requiredDocumentTypes"] = ["Expected a string or an array of strings."]
    return fields, errors


def _duplicate():
    return problem(409, "Order with this orderNumber already exists.")


def _document_types(value):
    """requiredDocumentTypes as SpotGo answers it: always an array."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _field(obj, name):
    """obj[name] with the name matched case-insensitively (None when absent or not a dict)."""
    if not isinstance(obj, dict):
        return None
    wanted = name.lower()
    for key, value in obj.items():
        if key.lower() == wanted:
            return value
    return None


def _vat_code(carrier):
    return _field(carrier, "vatCode")


def _carrier_name(carrier):
    name = _field(carrier, "name")
    return name if isinstance(name, str) else ""


def _share_url(seed=None):
    """A share link: random, or derived from `seed` so generated data is repeatable."""
    if seed is None:
        return SHARE_BASE + secrets.token_urlsafe(12)
    return SHARE_BASE + hashlib.sha256(seed.encode()).hexdigest()[:16]


def _attachment(name):
    """A Content-Disposition value for `name`; non-ASCII names also get filename*."""
    ascii_name = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in name)
    ascii_name = ascii_name.replace("\\", "\\\\").replace('"', '\\"')
    value = 'attachment; filename="%s"' % ascii_name
    if not name.isascii():
        value += "; filename*=UTF-8''" + quote(name, safe="")
    return value


def _form_part(parts, name, need_filename=False):
    """The first part with this field name (case-insensitive), or None."""
    for part in parts:
        if part.name is not None and part.name.lower() == name.lower():
            if not need_filename or part.filename is not None:
                return part
    return None


def _status_change(body):
    """A document status body -> ({status, rejectionReason, comment}, {errors})."""
    if not isinstance(body, dict):
        return None, {"$": ["The JSON value could not be converted to DocumentStatusModel."]}
    status = _field(body, "status")
    change = {"status": None, "rejectionReason": _field(body, "rejectionReason"),
              "comment": _field(body, "comment")}
    errors = {}
    if isinstance(status, str) and status.lower() in ("accepted", "rejected"):
        change["status"] = status.capitalize()
    else:
        errors["Status"] = ["The Status field must be Accepted or Rejected."]
    for name in ("rejectionReason", "comment"):
        if change[name] is not None and not isinstance(change[name], str):
            errors["$." + name] = ["The JSON value could not be converted to System.String."]
    return change, errors


def _page_size(value, errors):
    if value is None:
        return DEFAULT_PAGE_SIZE
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        errors["PageSize"] = ["The PageSize field must be a positive integer."]
        return DEFAULT_PAGE_SIZE
    return min(value, MAX_PAGE_SIZE)


def _filter_digest(query):
    """A digest of the filter without its paging fields (a token is valid for one filter)."""
    rest = {key: value for key, value in query.items()
            if key not in ("pagesize", "continuationtoken")}
    text = json.dumps(rest, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _string_set(value, name, errors):
    """A status filter: null, a string or an array of strings -> lower-cased set or None."""
    if value is None:
        return None
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        errors[name] = ["Expected an array of strings."]
        return None
    return {v.lower() for v in values}


def _optional_string(value, name, errors):
    if value is not None and not isinstance(value, str):
        errors[name] = ["Expected a string."]
        return None
    return value


def _date_range(value, name, errors):
    """{"from", "to"} (either may be null) -> (from, to) datetimes, or None when absent."""
    if value is None:
        return None
    if not isinstance(value, dict):
        errors[name] = ["Expected an object with from and to."]
        return None
    bounds = []
    for end in ("from", "to"):
        text = _field(value, end)
        try:
            bounds.append(None if text is None else parse_instant(text))
        except ValueError:
            errors["%s.%s" % (name, end.capitalize())] = ["Expected an ISO 8601 date-time."]
            return None
    return tuple(bounds)


def _has_stop_within(order, kind, bounds):
    """True when a location of this type (Loading/Unloading) starts within the bounds."""
    low, high = bounds
    for location in order.fields["locations"] or []:
        kind_value = _field(location, "type")
        if not isinstance(kind_value, str) or kind_value.lower() != kind:
            continue
        try:
            start = parse_instant(_field(location, "startDate"))
        except ValueError:
            continue
        if (low is None or start >= low) and (high is None or start <= high):
            return True
    return False


# ---------------------------------------------------------------------------------------------
# Seeding and generated orders

def _seed_order(item, now):
    """A SpotgoOrder from a seed object; raises ValueError when it is not valid."""
    if not isinstance(item, dict):
        raise ValueError("each order must be an object")
    fields, errors = submit_fields(item)
    if errors:
        raise ValueError("invalid order: " + dump_json(errors))
    extra = {key.lower(): value for key, value in item.items()}
    try:
        order_id = str(uuid.UUID(extra["orderid"])) if extra.get("orderid") else \
            str(uuid.uuid4())
        created = parse_instant(extra["_created"]) if extra.get("_created") else now
    except (ValueError, TypeError, AttributeError):
        raise ValueError("orderId must be a uuid and _created an ISO date-time") from None
    order = SpotgoOrder(order_id, created, fields, _share_url())
    for spec in extra.get("documents") or []:
        document = _seed_document(spec)
        order.documents[document.id] = document
    return order


def _seed_document(spec):
    """A SpotgoDocument from a seed object; raises ValueError when it is not valid."""
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise ValueError("each document needs a name")
    try:
        if spec.get("content_b64") is not None:
            data = base64.b64decode(spec["content_b64"], validate=True)
        else:
            data = str(spec.get("content") or "").encode("utf-8")
        doc_id = str(uuid.UUID(spec["documentId"])) if spec.get("documentId") else None
    except (ValueError, TypeError, AttributeError):
        raise ValueError("document content_b64 must be base64 and documentId a uuid") from None
    document = SpotgoDocument(spec["name"], spec.get("documentType") or "cmr",
                              spec.get("contentType"), data, doc_id=doc_id)
    document.status = spec.get("status") or "Processing"
    document.comment = spec.get("comment")
    document.rejection_reason = spec.get("rejectionReason")
    return document


_CARRIERS = (("Trans Baltic Sp. z o.o.", "PL5260001246"), ("Nordic Haulage AB", "SE556677889901"),
             ("Rhein Spedition GmbH", "DE811234567"), ("Vistula Cargo S.A.", "PL7010002137"),
             ("Alpine Freight s.r.o.", "CZ27082440"))
_STOPS = (("Warehouse Warsaw", "PL", "02-222", "Warszawa", "Aleje Jerozolimskie 100", 52.22, 21.0),
          ("DC Poznan", "PL", "61-001", "Poznań", "Głogowska 10", 52.4, 16.9),
          ("Hub Berlin", "DE", "10115", "Berlin", "Invalidenstraße 1", 52.53, 13.38),
          ("Terminal Gdansk", "PL", "80-001", "Gdańsk", "Portowa 2", 54.35, 18.65),
          ("Depot Prague", "CZ", "110 00", "Praha", "Na Příkopě 1", 50.08, 14.42))


def generate_orders(spec):
    """Yield SpotgoOrder objects from a spec; deterministic for a given spec.

    Spec keys: count (required), prefix ("SG-"), start (1), created (ISO UTC, default now),
    step_seconds (60). Numbers are prefix + zero-padded sequence (at least five digits);
    orderIds are name-based uuids of the number. Raises ValueError.
    """
    if not isinstance(spec, dict):
        raise ValueError("generate must be an object")
    count = spec.get("count")
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 1000000:
        raise ValueError("generate.count must be an integer from 0 to 1000000")
    prefix, start = spec.get("prefix", "SG-"), spec.get("start", 1)
    if not isinstance(prefix, str) or isinstance(start, bool) or not isinstance(start, int):
        raise ValueError("generate.prefix must be a string and generate.start an integer")
    try:
        base = utc_now() if spec.get("created") is None else parse_instant(spec["created"])
        step = timedelta(seconds=decimal_value(spec.get("step_seconds", 60)))
    except (ValueError, OverflowError):
        raise ValueError("generate.created must be an ISO date-time and "
                         "generate.step_seconds a number") from None
    width = max(5, len(str(start + count - 1)))
    for index in range(start, start + count):
        number = "%s%0*d" % (prefix, width, index)
        created = base + step * (index - start)
        yield SpotgoOrder(_name_uuid(number), created, None, _share_url(number), number=number,
                          make=partial(_generated_fields, index, number, created))


def _name_uuid(name):
    """uuid.uuid5(_GENERATED_NAMESPACE, name) as text, without the slow UUID object."""
    digest = hashlib.sha1(_GENERATED_NAMESPACE.bytes + name.encode("utf-8")).hexdigest()
    variant = "89ab"[int(digest[16], 16) & 3]
    return "%s-%s-5%s-%s%s-%s" % (digest[:8], digest[8:12], digest[13:16], variant,
                                  digest[17:20], digest[20:32])


def _generated_fields(index, number, created):
    carrier_name, vat = _CARRIERS[index % len(_CARRIERS)]
    loading_day = (created + timedelta(days=1)).replace(hour=8, minute=0, second=0,
                                                         microsecond=0)
    stops = []
    for sequence, kind in ((1, "Loading"), (2, "Unloading")):
        name, country, postal, city, street, lat, lon = \
            _STOPS[(index + sequence - 1) % len(_STOPS)]
        start = loading_day + timedelta(days=sequence - 1)
        stops.append({
            "sequence": sequence, "type": kind,
            "startDate": format_utc(start), "endDate": format_utc(start + timedelta(hours=2)),
            "name": name, "countryCode": country, "postalCode": postal, "city": city,
            "street": street,
            "position": {"latitude": raw_number("%.2f" % lat),
                         "longitude": raw_number("%.2f" % lon)},
        })
    return {
        "orderNumber": number,
        "manager": {"name": "Dispatch Desk", "email": "dispatch@example.com"},
        "carrier": {"name": carrier_name, "email": "orders@carrier%d.example.com"
                    % (index % len(_CARRIERS) + 1), "vatCode": vat},
        "internalComments": "generated order %d" % index,
        "requiredDocumentTypes": ["cmr"],
        "details": {"weight": raw_number("%d.5" % (500 + index % 1000)),
                    "licensePlates": ["WX%05dA" % (index % 100000)]},
        "locations": stops,
    }
