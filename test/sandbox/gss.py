"""Imitation of the GoSweetSpot (GSS) customer-order API.

State: packing-slip number -> GssOrder, holding the client's fields as sent (keys of documented
fields re-spelt the way GSS answers them, unknown keys kept verbatim), the creation time, and
the status object (None while the order is pending). Numbers deleted through the API are
remembered so that a repeated DELETE answers "Cannot be deleted. Already deleted.".

Listing sorts by (creation time, packing-slip number). The sorted and filtered lists are
cached until the next change, so paging through 100,000 orders costs one sort, not one per
page. The owner (the Sandbox) holds its lock around every call into this module.
"""

import math
from datetime import timedelta
from functools import partial
from urllib.parse import unquote

from common import decimal_value, format_utc, json_response, load_json, parse_instant, \
    raw_number, utc_now

# Order keys in the order GSS lists them; `status` follows, then any other stored keys.
ORDER_FIELDS = (
    "packingslipno", "consignee", "address1", "address2", "suburb", "city", "postcode",
    "country", "delvref", "delvinstructions", "contactname", "contactphone", "email",
    "rawAddress", "costcentre", "isrural", "notrural", "customField1Value", "customField2Value",
)
# Documented input fields that the list does not name but that are kept and returned.
INPUT_FIELDS = ("products", "packages", "iconUrl", "dangerousgoods", "shippingDescription",
                "isSignatureRequired")
STATUS_FIELDS = ("Status", "ticketnumber", "trackingurl", "Picked", "Delivered", "manualticket")
# Only the single-order status call shows these; a test can set them through gss/process.
TICKET_FIELDS = ("ticketprinteddate", "ticketprintedby", "ticketdeleteddate", "ticketdeletedby")

_ORDER_SPELLING = {name.lower(): name for name in ORDER_FIELDS + INPUT_FIELDS}
_STATUS_SPELLING = {name.lower(): name for name in STATUS_FIELDS + TICKET_FIELDS}
# Keys the sandbox reads from seeded orders but never stores as order fields.
_SEED_ONLY = ("status", "_created")

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
MAX_DELETE = 50

DENIED_MESSAGE = "Authorization has been denied for this request."


class GssOrder:
    """One stored order.

    Generated orders pass `make` (a function returning the fields) instead of `data`: the
    fields are built on first use, so generating 100,000 orders costs little more than
    creating the objects.
    """

    __slots__ = ("number", "_data", "_make", "created", "status")

    def __init__(self, number, data, created, status=None, make=None):
        self.number = number
        self._data = data
        self._make = make
        self.created = created
        self.status = status

    @property
    def data(self):
        if self._data is None:
            self._data = self._make()
            self._make = None
        return self._data

    @data.setter
    def data(self, value):
        self._data = value
        self._make = None

    def sort_key(self):
        return (self.created, self.number)


def authorised(request, config):
    """True when the request carries the configured `access_key` and `site_id` headers."""
    return (request.header("access_key") == config["gss_key"]
            and request.header("site_id") == config["gss_site"])


def message(status, text, headers=None):
    """An ASP.NET-style error answer: {"Message": text}."""
    return json_response(status, {"Message": text}, headers=headers)


class GssStore:
    """All GSS state plus the API's request handling."""

    def __init__(self):
        self.reset()

    def reset(self):
        """Forget every order and every remembered deletion."""
        self.orders = {}
        self.deleted = set()
        self._cache = {}

    def _changed(self):
        self._cache.clear()

    # -----------------------------------------------------------------------------------------
    # Control operations (called for /_sandbox/gss/...)

    def seed(self, items):
        """Store orders given as JSON objects (see _seed_order); returns how many.

        Validates every item before storing any; raises ValueError on a bad one.
        """
        if not isinstance(items, list):
            raise ValueError("orders must be an array")
        now = utc_now()
        orders = [_seed_order(item, now) for item in items]
        for order in orders:
            self.orders[order.number] = order
            self.deleted.discard(order.number)
        self._changed()
        return len(orders)

    def generate(self, spec):
        """Store `count` realistic orders (see generate_orders); returns how many."""
        count = 0
        for order in generate_orders(spec):
            self.orders[order.number] = order
            self.deleted.discard(order.number)
            count += 1
        self._changed()
        return count

    def process(self, number, status):
        """Mark an order processed with `status` (a dict), or pending again when None.

        Raises KeyError for an unknown number, ValueError for a status that is not an object.
        """
        order = self.orders[number]
        order.status = None if status is None else _normalise_status(status)
        self._changed()

    def remove(self, number):
        """Make an order vanish without trace (as if removed on GSS's side); KeyError if unknown."""
        del self.orders[number]
        self._changed()

    def dump(self):
        """Everything stored, for assertions: full orders with `_created`, and deleted numbers."""
        orders = []
        for order in self._sorted_orders():
            view = _order_view(order, products=True, packages="always")
            if order.status is not None:
                view["status"] = dict(order.status)
            view["_created"] = format_utc(order.created)
            orders.append(view)
        return {"orders": orders, "deleted": sorted(self.deleted)}

    # -----------------------------------------------------------------------------------------
    # The API

    def handle(self, request, auth_ok):
        """Answer one API request; `auth_ok` is the result of `authorised`."""
        route = _route(request)
        if route is None:
            return message(404, "No HTTP resource was found that matches the request URI '%s'."
                           % request.raw_path)
        allowed, argument = route
        if request.method not in allowed:
            return message(405, "The requested resource does not support http method '%s'."
                           % request.method, headers=[("Allow", ", ".join(sorted(allowed)))])
        if not auth_ok:
            return message(401, DENIED_MESSAGE)
        action = getattr(self, allowed[request.method])
        return action(request) if argument is None else action(request, argument)

    def api_list(self, request):
        """GET /api/customerorders: filtered, paged list."""
        try:
            query = _ListQuery(request.args_lower())
        except ValueError as error:
            return message(400, "The request is invalid. %s" % error)
        matches = self._matching(query)
        pages = math.ceil(len(matches) / query.page_size)
        first = (query.page - 1) * query.page_size
        results = [_order_view(order, products=query.products, packages="stored")
                   for order in matches[first:first + query.page_size]]
        return json_response(200, {"Page": query.page, "PageSize": query.page_size,
                                   "Pages": pages, "Results": results})

    def api_put(self, request):
        """PUT /api/customerorders: batch upsert of pending orders."""
        try:
            items = load_json(request.body)
        except (ValueError, RecursionError):
            return message(400, "The request is invalid.")
        if not isinstance(items, list):
            return message(400, "The request is invalid. The body must be a JSON array of orders.")
        now = utc_now()
        results = [self._put_one(item, now) for item in items]
        self._changed()
        return json_response(200, results)

    def api_delete(self, request):
        """DELETE /api/customerorders?packingslipno=a,b: delete pending orders."""
        numbers = _split_numbers(request.args_lower().get("packingslipno", ""))
        if not numbers:
            return message(400, "The request is invalid. packingslipno is required.")
        if len(numbers) > MAX_DELETE:
            return message(409, "Max delete limit is 50 packing slip numbers.")
        outcome = {}
        for number in numbers:
            if number not in outcome:
                outcome[number] = self._delete_one(number)
        self._changed()
        return json_response(200, outcome)

    def api_order_status(self, request, number):
        """GET /v2/order/{packingslipno}: one order's status."""
        order = self.orders.get(number)
        if order is None:
            return message(404, "No order found")
        status = order.status or {}
        return json_response(200, {
            "packingslipno": order.number,
            "consignee": order.data.get("consignee"),
            "status": "PENDING" if order.status is None else status.get("Status"),
            "ticketnumber": status.get("ticketnumber"),
            "trackingurl": status.get("trackingurl"),
            "picked": status.get("Picked"),
            "delivered": status.get("Delivered"),
            "ticketprinteddate": status.get("ticketprinteddate"),
            "ticketprintedby": status.get("ticketprintedby"),
            "ticketdeleteddate": status.get("ticketdeleteddate"),
            "ticketdeletedby": status.get("ticketdeletedby"),
        })

    def api_pending(self, request):
        """GET /v2/pendingorders: every pending order, unpaged."""
        pending = [order for order in self._sorted_orders() if order.status is None]
        return json_response(200, [_order_view(order, products=True, packages="always")
                                   for order in pending])

    # -----------------------------------------------------------------------------------------
    # Helpers

    def _put_one(self, item, now):
        """Upsert one element of a PUT batch; returns its result object."""
        if not isinstance(item, dict):
            return {"packingslipno": None, "result": False, "msg": "order must be an object"}
        data = _normalise_order(item)
        number = _number_text(data.get("packingslipno"))
        if number is None:
            return {"packingslipno": data.get("packingslipno"), "result": False,
                    "msg": "packingslipno is required"}
        data["packingslipno"] = number
        existing = self.orders.get(number)
        if existing is not None and existing.status is not None:
            return {"packingslipno": number, "result": False, "msg": "already processed"}
        if existing is not None:
            existing.data = data
        else:
            self.orders[number] = GssOrder(number, data, now)
            self.deleted.discard(number)
        return {"packingslipno": number, "result": True, "msg": ""}

    def _delete_one(self, number):
        """Delete one order if it is pending; returns GSS's outcome text."""
        order = self.orders.get(number)
        if order is None:
            if number in self.deleted:
                return "Cannot be deleted. Already deleted."
            return "Invalid packing slip number."
        if order.status is not None:
            return "Cannot be deleted. Already processed."
        del self.orders[number]
        self.deleted.add(number)
        return "Deleted."

    def _sorted_orders(self):
        """All orders in list order (cached)."""
        cached = self._cache.get("all")
        if cached is None:
            cached = sorted(self.orders.values(), key=GssOrder.sort_key)
            self._cache["all"] = cached
        return cached

    def _matching(self, query):
        """Orders passing the list filters, in list order (cached per filter)."""
        key = query.cache_key()
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        if query.numbers is not None:
            wanted = set(query.numbers)
            candidates = sorted((self.orders[n] for n in wanted if n in self.orders),
                                key=GssOrder.sort_key)
        else:
            candidates = self._sorted_orders()
        cached = [order for order in candidates if query.accepts(order)]
        if len(self._cache) > 64:
            self._cache.clear()
        self._cache[key] = cached
        return cached


class _ListQuery:
    """The list call's query parameters, validated (names already lower-cased)."""

    def __init__(self, args):
        raw_numbers = args.get("packingslipno")
        self.numbers = _split_numbers(raw_numbers) if raw_numbers else None
        self.created_from = _time_arg(args, "createdfrom")
        self.created_to = _time_arg(args, "createdto")
        self.pending_only = args.get("excludecompleted", "").lower() == "true"
        self.products = args.get("includeproducts", "").lower() == "true"
        self.page = _int_arg(args, "page", 1)
        self.page_size = min(_int_arg(args, "pagesize", DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE)

    def cache_key(self):
        numbers = tuple(self.numbers) if self.numbers is not None else None
        return (numbers, self.created_from, self.created_to, self.pending_only)

    def accepts(self, order):
        if self.pending_only and order.status is not None:
            return False
        if self.created_from is not None and order.created < self.created_from:
            return False
        return self.created_to is None or order.created <= self.created_to


def _route(request):
    """Map a request to ({method: handler name}, path argument) or None when no route fits."""
    raw = request.segments()
    lower = [segment.lower() for segment in raw]
    if lower == ["api", "customerorders"]:
        return {"GET": "api_list", "PUT": "api_put", "DELETE": "api_delete"}, None
    if len(lower) == 3 and lower[:2] == ["v2", "order"]:
        return {"GET": "api_order_status"}, unquote(raw[2])
    if lower == ["v2", "pendingorders"]:
        return {"GET": "api_pending"}, None
    return None


def _order_view(order, products, packages):
    """An order as GSS lists it.

    `products`: include the products array; `packages`: "always", or "stored" (only when the
    order has them).
    """
    data = order.data
    view = {name: data.get(name) for name in ORDER_FIELDS}
    view["status"] = _status_view(order.status)
    for key, value in data.items():
        if key not in view and key != "products" and key != "packages":
            view[key] = value
    if products:
        view["products"] = [] if data.get("products") is None else data["products"]
    if packages == "always":
        view["packages"] = [] if data.get("packages") is None else data["packages"]
    elif "packages" in data:
        view["packages"] = data["packages"]
    return view


def _status_view(status):
    if status is None:
        return None
    view = {name: status.get(name) for name in STATUS_FIELDS}
    if view["manualticket"] is None:
        view["manualticket"] = False
    return view


def _normalise_order(item):
    """A client's order object with documented keys spelt as GSS answers them."""
    data = {}
    for key, value in item.items():
        lower = key.lower()
        if lower not in _SEED_ONLY:
            data[_ORDER_SPELLING.get(lower, key)] = value
    return data


def _normalise_status(status):
    """A status object with its keys spelt as GSS answers them; Status defaults to PICKED."""
    if not isinstance(status, dict):
        raise ValueError("status must be an object or null")
    result = {_STATUS_SPELLING.get(key.lower(), key): value for key, value in status.items()}
    result.setdefault("Status", "PICKED")
    result.setdefault("manualticket", False)
    return result


def _seed_order(item, now):
    """A GssOrder from a seed object: any order fields, optional `status` and `_created`."""
    if not isinstance(item, dict):
        raise ValueError("each order must be an object")
    lower = {key.lower(): value for key, value in item.items()}
    data = _normalise_order(item)
    number = _number_text(data.get("packingslipno"))
    if number is None:
        raise ValueError("each order needs a packingslipno")
    data["packingslipno"] = number
    created = now
    if lower.get("_created") is not None:
        created = _instant(lower["_created"], "_created")
    status = lower.get("status")
    return GssOrder(number, data, created, None if status is None else _normalise_status(status))


def _number_text(value):
    """A packing-slip number as text, or None when missing or empty."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value
    return None


def _split_numbers(value):
    """A comma-separated list of (already percent-decoded) numbers, empty items dropped."""
    return [number for number in (value or "").split(",") if number.strip()]


def _time_arg(args, name):
    if not args.get(name):
        return None
    return _instant(args[name], name)


def _instant(text, name):
    try:
        return parse_instant(text)
    except ValueError:
        raise ValueError("%s is not a valid UTC date-time: %r." % (name, text)) from None


def _int_arg(args, name, default):
    text = args.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise ValueError("%s must be an integer." % name) from None
    if value < 1:
        raise ValueError("%s must be at least 1." % name)
    return value


# ---------------------------------------------------------------------------------------------
# Generated orders

_FIRST_NAMES = ("Aroha", "Ben", "Charlotte", "Dylan", "Emma", "Finn", "Grace", "Hemi", "Isla",
                "Jack", "Kiri", "Liam", "Mia", "Noah", "Olivia", "Pita", "Ruby", "Sam", "Tama",
                "Zoe")
_LAST_NAMES = ("Walker", "Smith", "Ngata", "Brown", "Wilson", "Taylor", "Parata", "Clark",
               "Harris", "Martin", "Thompson", "Young", "King", "Wright", "Tane", "Lee",
               "Scott", "Green", "Baker", "Hall")
_STREETS = ("Queen Street", "Cuba Street", "Colombo Street", "George Street", "Victoria Avenue",
            "Main Road", "Beach Road", "High Street", "Great North Road", "Ponsonby Road")
_PLACES = (("Ponsonby", "Auckland", "1011"), ("Te Aro", "Wellington", "6011"),
           ("Riccarton", "Christchurch", "8011"), ("Dunedin Central", "Dunedin", "9016"),
           ("Hamilton East", "Hamilton", "3216"), ("Mount Maunganui", "Tauranga", "3116"),
           ("Stoke", "Nelson", "7011"), ("Fitzroy", "New Plymouth", "4312"),
           ("Havelock North", "Hastings", "4130"), ("Te Anau", "Te Anau", "9600"))
_INSTRUCTIONS = ("Leave at front door", "Signature required", "Call on arrival",
                 "Leave with neighbour", "")
_PRODUCTS = (
    ("TEA-001", "Green tea 100g", "4.50000000", "0.10000000"),
    ("MUG-010", "Ceramic mug", "12.90000000", "0.35000000"),
    ("BAG-200", "Canvas tote bag", "19.00000000", "0.20000000"),
    ("HON-500", "Manuka honey 500g", "39.95000000", "0.60000000"),
    ("SOC-003", "Wool socks", "24.00000000", "0.15000000"),
)
_PACKAGES = (("Satchel A4", "0.50000000", 32, 24, 2), ("Box small", "1.20000000", 20, 15, 10),
             ("Box medium", "2.50000000", 35, 25, 20))


def _product_lists():
    """A few fixed product arrays that generated orders share (they are never changed)."""
    lists = []
    for variant in range(7):
        lines = []
        for line in range(1 + variant % 3):
            code, description, value, kg = _PRODUCTS[(variant + line) % len(_PRODUCTS)]
            units = 1 + (variant + line) % 4
            lines.append({
                "productcode": code, "description": description,
                "units": raw_number("%d.00000000" % units), "unitvalue": raw_number(value),
                "countryofmanufacture": "NZ", "unitkg": raw_number(kg),
                "imageurl": "https://img.sandbox.local/%s.png" % code.lower(),
                "currency": "NZD", "alreadySent": raw_number("0.00000000"),
                "fulfilledQty": raw_number("0.00000000"),
                "linetotal": raw_number("%.8f" % (units * float(value))),
                "bin": "A%02d" % (variant + line + 1),
            })
        lists.append(lines)
    return lists


def _package_lists():
    return [[{"packageStockName": name, "quantity": 1, "weightKg": raw_number(kg),
              "lengthCm": length, "widthCm": width, "heightCm": height}]
            for name, kg, length, width, height in _PACKAGES]


def generate_orders(spec):
    """Yield GssOrder objects built from a spec; deterministic for a given spec.

    Spec keys: count (required), prefix ("GEN"), start (1), created (ISO UTC, default now),
    step_seconds (60, the gap between creation times), products (true), packages (true).
    Numbers are prefix + zero-padded sequence (at least five digits). Raises ValueError.
    """
    if not isinstance(spec, dict):
        raise ValueError("generate must be an object")
    count = spec.get("count")
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 1000000:
        raise ValueError("generate.count must be an integer from 0 to 1000000")
    prefix = spec.get("prefix", "GEN")
    start = spec.get("start", 1)
    if not isinstance(prefix, str) or isinstance(start, bool) or not isinstance(start, int):
        raise ValueError("generate.prefix must be a string and generate.start an integer")
    base = utc_now() if spec.get("created") is None else _instant(spec["created"], "created")
    try:
        step = timedelta(seconds=decimal_value(spec.get("step_seconds", 60)))
    except (ValueError, OverflowError):
        raise ValueError("generate.step_seconds must be a number") from None
    products = _product_lists() if spec.get("products", True) else None
    packages = _package_lists() if spec.get("packages", True) else None
    width = max(5, len(str(start + count - 1)))
    for index in range(start, start + count):
        number = "%s%0*d" % (prefix, width, index)
        make = partial(_generated_fields, index, number, products, packages)
        yield GssOrder(number, None, base + step * (index - start), make=make)


def _generated_fields(index, number, products, packages):
    """The fields of generated order `index`; products and packages come from the pools."""
    first = _FIRST_NAMES[index % len(_FIRST_NAMES)]
    last = _LAST_NAMES[index // len(_FIRST_NAMES) % len(_LAST_NAMES)]
    suburb, city, postcode = _PLACES[index * 7 % len(_PLACES)]
    street = "%d %s" % (1 + index % 250, _STREETS[index % len(_STREETS)])
    unit = "Unit %d" % (index % 9) if index % 3 == 0 else ""
    rural = index % 10 == 0
    data = {
        "packingslipno": number,
        "consignee": "%s %s" % (first, last),
        "address1": street,
        "address2": unit,
        "suburb": suburb,
        "city": city,
        "postcode": postcode,
        "country": "NZ",
        "delvref": "REF-%d" % index,
        "delvinstructions": _INSTRUCTIONS[index % len(_INSTRUCTIONS)],
        "contactname": first,
        "contactphone": "021 555 %04d" % (index % 10000),
        "email": "%s.%s%d@example.com" % (first.lower(), last.lower(), index),
        "rawAddress": "\n".join(part for part in (street, unit, suburb, city + " " + postcode)
                                if part),
        "costcentre": "CC-%d" % (1 + index % 3),
        "isrural": "true" if rural else "false",
        "notrural": "false" if rural else "true",
        "customField1Value": "batch-%d" % (index // 1000),
        "customField2Value": "web" if index % 2 else "shop",
    }
    if products is not None:
        data["products"] = products[index % len(products)]
    if packages is not None:
        data["packages"] = packages[index % len(packages)]
    return data
