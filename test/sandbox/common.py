"""Pieces shared by the sandbox modules: requests, responses, JSON and time helpers.

JSON numbers are kept exactly as the client wrote them: GSS answers quantities as `1.00000000`
and the extension maps them to `numeric`, so the sandbox must not round-trip them through a
binary float. `load_json` turns every non-integer number into a marked string and `dump_json`
writes such strings back as bare numbers.
"""

import base64
import json
import re
from datetime import datetime, timezone
from urllib.parse import parse_qsl

# A private-use character no real payload starts a string with.
RAW_NUMBER_MARK = "\ue000num:"
_NUMBER = r'(-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)'
_RAW_NUMBER_RE = re.compile('"' + RAW_NUMBER_MARK + _NUMBER + '"')
# The same marked string as json.dumps(..., ensure_ascii=True) writes it.
_ASCII_RAW_NUMBER_RE = re.compile(r'"\\ue000num:' + _NUMBER + '"')

JSON_TYPE = "application/json; charset=utf-8"


def raw_number(text):
    """A value that dump_json writes as the bare JSON number `text` (e.g. "1.00000000")."""
    return RAW_NUMBER_MARK + text


def decimal_value(value):
    """An int or float from a JSON number as load_json returns it (int or marked string).

    Raises ValueError for anything else (booleans included).
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.startswith(RAW_NUMBER_MARK):
        return float(value[len(RAW_NUMBER_MARK):])
    raise ValueError("not a number")


def load_json(data):
    """Parse JSON text or UTF-8 bytes; decimals stay exact (see the module comment).

    Raises ValueError (json.JSONDecodeError or UnicodeDecodeError) on bad input.
    """
    if isinstance(data, (bytes, bytearray)):
        data = bytes(data).decode("utf-8")
    return json.loads(data, parse_float=raw_number)


def dump_json(value, ascii_only=False, indent=None):
    """Serialise compactly (or indented), restoring marked decimals as bare numbers."""
    separators = (",", ":") if indent is None else (",", ": ")
    text = json.dumps(value, ensure_ascii=ascii_only, separators=separators, indent=indent)
    if ascii_only:
        if "\\ue000num:" in text:
            text = _ASCII_RAW_NUMBER_RE.sub(r"\1", text)
    elif RAW_NUMBER_MARK in text:
        text = _RAW_NUMBER_RE.sub(r"\1", text)
    return text


# ---------------------------------------------------------------------------------------------
# Time

def utc_now():
    """The current time, timezone-aware UTC, truncated to milliseconds."""
    now = datetime.now(timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def parse_instant(text):
    """Parse an ISO 8601 date-time ("T" or space, optional "Z" or offset; naive means UTC).

    Returns an aware UTC datetime; raises ValueError when `text` is not such a string.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError("not a date-time")
    value = text.strip()
    if value[-1:] in ("Z", "z"):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def format_utc(moment):
    """An aware datetime as `2026-08-01T10:00:00.123Z` (milliseconds, always UTC)."""
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)


# ---------------------------------------------------------------------------------------------
# Requests and responses

class Request:
    """One HTTP request as the API imitations see it.

    `raw_path` keeps percent-encoding exactly as received; `query` is the raw query string;
    `headers` is the case-insensitive message object of http.server.
    """

    def __init__(self, method, target, headers, body, conn):
        self.method = method
        path, _, query = target.partition("?")
        self.raw_path = path.split("#", 1)[0]
        self.query = query
        self.headers = headers
        self.body = body
        self.conn = conn
        self.args = dict(parse_qsl(query, keep_blank_values=True))

    def header(self, name, default=None):
        """The value of header `name` (case-insensitive), or `default`."""
        return self.headers.get(name, default)

    def args_lower(self):
        """The decoded query with lower-cased names (for APIs whose names ignore case)."""
        return {key.lower(): value for key, value in self.args.items()}

    def body_text(self):
        """The body decoded as UTF-8, or None when it is not valid UTF-8."""
        try:
            return self.body.decode("utf-8")
        except UnicodeDecodeError:
            return None

    def segments(self):
        """The raw path split on "/", empty segments dropped (so a trailing "/" is ignored)."""
        return [part for part in self.raw_path.split("/") if part]


class Response:
    """An answer to send: status, headers and either `body` bytes or streamed `chunks`.

    With `chunks` (an iterable of bytes) the caller must give the exact total `length`,
    so that Content-Length is right and keep-alive framing survives.
    """

    def __init__(self, status, body=b"", content_type=None, headers=None,
                 chunks=None, length=None):
        self.status = status
        self.body = body
        self.headers = list(headers or [])
        if content_type:
            self.headers.insert(0, ("Content-Type", content_type))
        self.chunks = chunks
        self.length = len(body) if chunks is None else length


def json_response(status, value, content_type=JSON_TYPE, headers=None):
    """A Response whose body is `value` as compact UTF-8 JSON."""
    return Response(status, dump_json(value).encode("utf-8"), content_type, headers)


def encode_b64(data):
    """Standard base64 of bytes, as text."""
    return base64.b64encode(data).decode("ascii")
