#!/usr/bin/env python3
"""Control client for the spotgo_gss sandbox, made for `COPY ... FROM PROGRAM` in SQL tests.

    python3 ctl.py [--port N] [--tls-ca FILE] [--plain] CMD [HEXARG]

CMD is a path under /_sandbox/ (`reset`, `journal`, `journal?path=/v2`, `fault`,
`gss/orders`, ...). HEXARG, when given, is hex-encoded UTF-8 JSON sent as a POST body (hex
survives any shell or SQL quoting: `encode(convert_to('{"a":1}', 'UTF8'), 'hex')`); without
it the request is a GET. `--json TEXT` sends plain JSON text instead of HEXARG.

The answer is printed as one line of ASCII JSON with every backslash doubled, i.e. one row
in COPY's text format (one text or jsonb column). `--plain` pretty-prints for humans.
The port comes from --port or the SANDBOX_PORT environment variable. --tls-ca FILE talks
https to a sandbox started with --tls-cert, trusting the CA certificate(s) in FILE (the
certificate and the host name 127.0.0.1 are verified). Exit status: 0 on
success, 1 when the sandbox answered an error (its answer goes to stderr), 2 when it cannot
be reached or the arguments are wrong.
"""

import argparse
import json
import os
import re
import ssl
import sys
import urllib.error
import urllib.request

TIMEOUT_SECONDS = 120
# Decimals are carried through as written (1.00000000 stays so): parsed into marked strings,
# then written back as bare numbers.
_MARK = "\ue000num:"
_MARKED_ASCII = re.compile(r'"\\ue000num:(-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)"')
_MARKED_TEXT = re.compile('"' + _MARK + r'(-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)"')


def parse_args(argv):
    parser = argparse.ArgumentParser(description="spotgo_gss sandbox control client")
    parser.add_argument("--port", type=int, help="sandbox port (default: $SANDBOX_PORT)")
    parser.add_argument("--tls-ca", metavar="FILE",
                        help="use https, trusting the CA certificate(s) in FILE")
    parser.add_argument("--plain", action="store_true", help="pretty JSON for humans")
    parser.add_argument("--json", dest="json_text", help="JSON body as plain text")
    parser.add_argument("cmd", help="path under /_sandbox/, e.g. reset or journal?path=/v2")
    parser.add_argument("hexarg", nargs="?", help="hex-encoded UTF-8 JSON body (POST)")
    return parser.parse_args(argv)


def fail(status, text):
    sys.stderr.write("ctl.py: %s\n" % text)
    sys.exit(status)


def request_body(args):
    """The POST body as bytes, or None for a GET."""
    if args.hexarg is not None and args.json_text is not None:
        fail(2, "give either HEXARG or --json, not both")
    if args.json_text is not None:
        return args.json_text.encode("utf-8")
    if args.hexarg is None:
        return None
    try:
        return bytes.fromhex(args.hexarg)
    except ValueError:
        fail(2, "HEXARG is not hexadecimal")


def sandbox_port(args):
    if args.port is not None:
        return args.port
    text = os.environ.get("SANDBOX_PORT", "").strip()
    if not text.isdigit():
        fail(2, "no sandbox port: pass --port or set SANDBOX_PORT")
    return int(text)


def call(port, cmd, body, tls_ca=None):
    """Send the control request (https when tls_ca names a CA file); returns the answer's text."""
    scheme = "http" if tls_ca is None else "https"
    url = "%s://127.0.0.1:%d/_sandbox/%s" % (scheme, port, cmd.lstrip("/"))
    request = urllib.request.Request(url, data=body, method="GET" if body is None else "POST")
    if body is not None:
        request.add_header("Content-Type", "application/json")
    # Never route the loopback sandbox through a proxy from the environment.
    handlers = [urllib.request.ProxyHandler({})]
    if tls_ca is not None:
        try:
            context = ssl.create_default_context(cafile=tls_ca)
        except (OSError, ValueError) as error:
            fail(2, "cannot load --tls-ca %s: %s" % (tls_ca, error))
        handlers.append(urllib.request.HTTPSHandler(context=context))
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(request, timeout=TIMEOUT_SECONDS) as answer:
            return answer.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        detail = error.read().decode("utf-8", "replace").strip()
        fail(1, "sandbox answered %d to %s: %s" % (error.code, cmd, detail))
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        fail(2, "sandbox not reachable at 127.0.0.1:%d: %s" % (port, reason))


def copy_line(value):
    """One line of ASCII JSON with backslashes doubled (COPY text format)."""
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    text = _MARKED_ASCII.sub(r"\1", text)
    return text.replace("\\", "\\\\")


def plain_text(value):
    text = json.dumps(value, ensure_ascii=False, indent=2, sort_keys=False)
    return _MARKED_TEXT.sub(r"\1", text)


def main(argv=None):
    args = parse_args(argv)
    body = request_body(args)
    text = call(sandbox_port(args), args.cmd, body, args.tls_ca)
    try:
        value = json.loads(text, parse_float=lambda number: _MARK + number)
    except ValueError:
        fail(1, "the sandbox answer is not JSON: %r" % text[:200])
    try:
        print(plain_text(value) if args.plain else copy_line(value), flush=True)
    except BrokenPipeError:
        # The reader stopped early (e.g. `| head`); silence the flush at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
