"""A small, binary-safe multipart/form-data parser (RFC 7578) for document uploads.

The body is split on the boundary with bytes operations only, so file contents come out
exactly as sent. Part headers are parsed with the standard email package, which also decodes
RFC 2231 `filename*=` parameters.
"""

from email.message import Message
from email.parser import HeaderParser
from email.utils import collapse_rfc2231_value


class Part:
    """One form part: field name, optional filename and content type, raw content bytes."""

    def __init__(self, name, filename, content_type, content):
        self.name = name
        self.filename = filename
        self.content_type = content_type
        self.content = content


def form_boundary(content_type):
    """The boundary of a multipart/form-data Content-Type value, or None if it is another type."""
    header = Message()
    header["Content-Type"] = content_type or ""
    if header.get_content_type() != "multipart/form-data":
        return None
    boundary = header.get_param("boundary")
    return collapse_rfc2231_value(boundary) if boundary else None


def parse_form(body, boundary):
    """Split a multipart body into Parts; raises ValueError when it is not well formed."""
    delimiter = b"--" + boundary.encode("latin-1")
    position = body.find(delimiter)
    if position < 0:
        raise ValueError("no boundary in the body")
    parts = []
    while True:
        position += len(delimiter)
        if body[position:position + 2] == b"--":
            return parts
        line_end = body.find(b"\r\n", position)
        header_end = body.find(b"\r\n\r\n", line_end) if line_end >= 0 else -1
        if header_end < 0:
            raise ValueError("part headers are not terminated")
        content_start = header_end + 4
        content_end = body.find(b"\r\n" + delimiter, content_start)
        if content_end < 0:
            raise ValueError("part is not terminated by the boundary")
        headers = body[line_end + 2:header_end]
        parts.append(_make_part(headers, body[content_start:content_end]))
        position = content_end + 2


def _make_part(header_bytes, content):
    """A Part from its raw header block and content."""
    headers = HeaderParser().parsestr(header_bytes.decode("utf-8", "replace"))
    name = headers.get_param("name", header="content-disposition")
    name = collapse_rfc2231_value(name) if name is not None else None
    content_type = headers.get("Content-Type")
    return Part(name, headers.get_filename(), content_type, content)
