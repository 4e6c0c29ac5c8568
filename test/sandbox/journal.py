"""The request journal: every API request the sandbox received, for tests to read back.

Entries are appended when a request arrives (so `seq` follows arrival order even when an
answer is delayed) and completed with the answered status afterwards. The owner (the Sandbox)
serialises access with its lock; this class does no locking of its own.
"""

from common import encode_b64, load_json

REDACTED = "<redacted>"


class Journal:
    """An ordered list of request records with a sequence counter."""

    def __init__(self):
        self.entries = []
        self.next_seq = 1

    def clear(self):
        """Forget all entries; numbering starts again at 1."""
        self.entries = []
        self.next_seq = 1

    def record(self, request, auth_ok, secret_headers):
        """Append an entry for `request` and return it (status still null).

        `secret_headers` is a set of lower-case header names whose values are redacted.
        """
        text = request.body_text()
        entry = {
            "seq": self.next_seq,
            "conn": request.conn,
            "method": request.method,
            "path": request.raw_path,
            "query": request.query,
            "args": dict(request.args),
            "headers": _header_object(request.headers, secret_headers),
            "auth": "ok" if auth_ok else "denied",
            "body": text,
            "json": _parse_or_none(text),
            "status": None,
            "fault": False,
        }
        if text is None:
            entry["body_b64"] = encode_b64(request.body)
        self.next_seq += 1
        self.entries.append(entry)
        return entry

    def select(self, path_prefix=None):
        """Entries in arrival order, optionally only those whose raw path has the prefix.

        Returns shallow copies, so a caller may serialise them after releasing the lock.
        """
        return [dict(entry) for entry in self.entries
                if path_prefix is None or entry["path"].startswith(path_prefix)]


def _header_object(headers, secret_headers):
    """Headers as {lower-case name: value}; repeated headers are joined with ", "."""
    result = {}
    for name, value in headers.items():
        key = name.lower()
        if key in secret_headers:
            value = REDACTED
        result[key] = value if key not in result else result[key] + ", " + value
    return result


def _parse_or_none(text):
    """The JSON value of `text`, or None when it is empty or not JSON."""
    if not text:
        return None
    try:
        return load_json(text)
    except (ValueError, RecursionError):
        return None

