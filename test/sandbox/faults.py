"""Fault injection: rules that make the sandbox misbehave the way a remote API can.

A rule matches a request by method, raw path prefix and a substring of the raw query. Every
live rule counts the matching requests it sees; once a rule has seen more than `after` of them
it is armed, and the first armed rule (in registration order) is applied to the request. A rule
is spent after it has been applied `times` times (-1: never spent).

Effects:
  delay_ms    sleep before answering (the caller sleeps outside the sandbox lock); alone, the
              normal answer comes late; the API still acts on the request at once
  status      answer this status with `body` (default {"Message": "sandbox fault"})
  retry_after send `Retry-After: <value>` with the answer
  cut         read the request, then close the socket without a byte of answer
  malformed   answer 200 with truncated JSON
  huge_bytes  answer 200 with valid JSON of about that many bytes, streamed
  body_hex    answer these bytes (hex), exactly: a body that is not valid UTF-8 (bytes ff fe)
              or holds raw control characters
When a rule answers by itself (status, malformed, huge_bytes, body_hex) the API does not see the
request at all. Otherwise it does: `cut` alone is "the server acted, the answer was lost";
`cut` with `status` is "the request never arrived". A rule with none of
delay/status/cut/malformed/huge_bytes/body_hex answers 503.

Like the journal, this class relies on its owner's lock.
"""

from common import JSON_TYPE, RAW_NUMBER_MARK, Response, decimal_value, dump_json

DEFAULTS = {
    "method": None, "path": "", "query_contains": None, "after": 0, "times": 1,
    "status": None, "retry_after": None, "delay_ms": 0, "cut": False, "malformed": False,
    "huge_bytes": 0, "body": None, "body_hex": None, "content_type": None,
}

DEFAULT_FAULT_BODY = {"Message": "sandbox fault"}

# Truncated bodies that look like the start of a real page of each API.
MALFORMED_BODIES = {
    "gss": b'{"Page":1,"PageSize":100,"Pages":1,"Results":[{"packingslipno":',
    "spotgo": b'{"items":[{"orderId":"',
}

# Valid JSON shells for oversized answers; the padding goes between the two halves.
HUGE_SHELLS = {
    "gss": (b'{"Page":1,"PageSize":1,"Pages":1,"Results":[],"pad":"', b'"}'),
    "spotgo": (b'{"items":[],"continuationToken":null,"pad":"', b'"}'),
}

PAD_CHUNK = b"x" * 65536


class FaultRule:
    """One validated rule plus its counters."""

    def __init__(self, rule_id, spec):
        self.id = rule_id
        self.spec = spec
        self.seen = 0
        self.applied = 0

    @property
    def spent(self):
        return self.spec["times"] >= 0 and self.applied >= self.spec["times"]

    @property
    def delay_seconds(self):
        return self.spec["delay_ms"] / 1000.0

    @property
    def cuts(self):
        return self.spec["cut"]

    def matches(self, request):
        """True when the request's method, raw path and raw query fit this rule."""
        spec = self.spec
        if spec["method"] is not None and spec["method"] != request.method:
            return False
        if not request.raw_path.startswith(spec["path"]):
            return False
        wanted = spec["query_contains"]
        return wanted is None or wanted in request.query

    def answers(self):
        """True when the rule supplies the answer itself (the API is bypassed)."""
        spec = self.spec
        return (spec["status"] is not None or spec["malformed"] or spec["huge_bytes"] > 0
                or spec["body_hex"] is not None)

    def response(self, api):
        """The Response this rule answers with, for a request to `api` ("gss" or "spotgo")."""
        spec = self.spec
        headers = []
        if spec["retry_after"] is not None:
            headers.append(("Retry-After", spec["retry_after"]))
        content_type = spec["content_type"] or JSON_TYPE
        if spec["huge_bytes"] > 0 and spec["body"] is None:
            return _huge_response(spec["status"] or 200, spec["huge_bytes"], api,
                                  content_type, headers)
        if spec["body_hex"] is not None:
            body = bytes.fromhex(spec["body_hex"])
        elif spec["malformed"] and spec["body"] is None:
            body = MALFORMED_BODIES[api]
        else:
            body = _body_bytes(DEFAULT_FAULT_BODY if spec["body"] is None else spec["body"])
        status = spec["status"] or 200
        if status in (204, 304):
            body = b""
        return Response(status, body, content_type, headers)

    def describe(self):
        """The rule as JSON for GET /_sandbox/fault."""
        return dict(self.spec, id=self.id, seen=self.seen, applied=self.applied,
                    spent=self.spent)


class FaultSet:
    """Registered rules in registration order."""

    def __init__(self):
        self.rules = []
        self.next_id = 1

    def clear(self):
        self.rules = []

    def add(self, spec):
        """Validate `spec` (a JSON object) and register it; raises ValueError when invalid."""
        rule = FaultRule(self.next_id, validate_spec(spec))
        self.next_id += 1
        self.rules.append(rule)
        return rule

    def pick(self, request):
        """Count `request` against every live matching rule; return the rule to apply or None."""
        chosen = None
        for rule in self.rules:
            if rule.spent or not rule.matches(request):
                continue
            rule.seen += 1
            if chosen is None and rule.seen > rule.spec["after"]:
                chosen = rule
                rule.applied += 1
        return chosen


def validate_spec(spec):
    """Check a rule object field by field; return it completed with defaults.

    Raises ValueError naming the first bad field.
    """
    if not isinstance(spec, dict):
        raise ValueError("a fault rule must be a JSON object")
    unknown = sorted(set(spec) - set(DEFAULTS))
    if unknown:
        raise ValueError("unknown fault field(s): " + ", ".join(unknown))
    rule = dict(DEFAULTS)
    for key, value in spec.items():
        if value is not None or DEFAULTS[key] is None:
            rule[key] = value
    _check_optional_str(rule, "method")
    if rule["method"] is not None:
        rule["method"] = rule["method"].upper()
    if not isinstance(rule["path"], str):
        raise ValueError("path must be a string")
    _check_optional_str(rule, "query_contains")
    _check_optional_str(rule, "content_type")
    _check_body_hex(rule)
    _check_int(rule, "after", 0)
    _check_int(rule, "times", -1)
    if rule["times"] == 0:
        raise ValueError("times must be -1 (forever) or at least 1")
    _check_int(rule, "huge_bytes", 0)
    _check_delay(rule)
    _check_status(rule)
    for flag in ("cut", "malformed"):
        if not isinstance(rule[flag], bool):
            raise ValueError(flag + " must be true or false")
    _check_retry_after(rule)
    if not (rule["delay_ms"] or rule["status"] is not None or rule["cut"]
            or rule["malformed"] or rule["huge_bytes"] or rule["body_hex"] is not None):
        rule["status"] = 503
    return rule


def _check_optional_str(rule, key):
    if rule[key] is not None and not isinstance(rule[key], str):
        raise ValueError(key + " must be a string or null")


def _check_body_hex(rule):
    """body_hex: an even number of hex digits (spaces allowed), not together with body."""
    value = rule["body_hex"]
    if value is None:
        return
    if not isinstance(value, str):
        raise ValueError("body_hex must be a string of hex digits or null")
    if rule["body"] is not None:
        raise ValueError("body and body_hex exclude each other")
    try:
        rule["body_hex"] = bytes.fromhex(value).hex()
    except ValueError:
        raise ValueError("body_hex must be hex digits, two per byte") from None


def _check_int(rule, key, minimum):
    value = rule[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError("%s must be an integer >= %d" % (key, minimum))


def _check_delay(rule):
    try:
        value = decimal_value(rule["delay_ms"])
    except ValueError:
        value = -1
    if value < 0:
        raise ValueError("delay_ms must be a number >= 0")
    rule["delay_ms"] = value


def _check_retry_after(rule):
    """Keep Retry-After as header text: a string as given, a number as written."""
    value = rule["retry_after"]
    if value is None or isinstance(value, str) and not value.startswith(RAW_NUMBER_MARK):
        return
    try:
        decimal_value(value)
    except ValueError:
        raise ValueError("retry_after must be a string or a number") from None
    rule["retry_after"] = str(value).replace(RAW_NUMBER_MARK, "")


def _check_status(rule):
    value = rule["status"]
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 200 <= value <= 599:
        raise ValueError("status must be an integer from 200 to 599")


def _body_bytes(body):
    """A fault body: a string is sent as it is, any other JSON value is serialised."""
    if isinstance(body, str):
        return body.encode("utf-8")
    return dump_json(body).encode("utf-8")


def _huge_response(status, size, api, content_type, headers):
    """A streamed Response of valid JSON about `size` bytes long."""
    head, tail = HUGE_SHELLS[api]
    pad = max(0, size - len(head) - len(tail))

    def chunks():
        yield head
        left = pad
        while left > 0:
            piece = PAD_CHUNK if left >= len(PAD_CHUNK) else PAD_CHUNK[:left]
            left -= len(piece)
            yield piece
        yield tail

    return Response(status, b"", content_type, headers, chunks=chunks(),
                    length=len(head) + pad + len(tail))
