#!/usr/bin/env python3
"""Local sandbox for spotgo_gss: a stateful imitation of the GSS and SpotGo APIs.

    python3 test/sandbox/server.py --port 0 --port-file /tmp/sandbox.port

Design
  * HTTP: http.server's ThreadingHTTPServer, one daemon thread per TCP connection,
    HTTP/1.1 keep-alive, Content-Length on every answer, `Connection: close` honoured.
    Listens on 127.0.0.1 only. Clients that hang up mid-answer are ignored quietly.
  * State: one Sandbox object holds the configuration, the request journal, the fault rules
    and the two API stores (gss.py, spotgo.py). A single lock guards all of it; it is never
    held while sleeping or writing to a socket, so a delayed answer does not stall others.
  * Routing: paths under /_sandbox/ are control endpoints (no auth, not journaled, never
    faulted); /api/v1/... is SpotGo; everything else is GSS.
  * An API request is journaled on arrival, then checked against the fault rules
    (faults.py); unless a rule answers by itself, the API store answers it.
  * Connections are numbered in order of acceptance (journal field `conn`); the numbers keep
    growing across resets so that a kept-alive connection never shares a number with a new one.
  * TLS (optional, --tls-cert/--tls-key): the listening socket is wrapped with an ssl server
    context (TLS 1.2 or later); each connection's handshake runs in its own thread, so a client
    that stalls or refuses the certificate holds up nobody. Everything else, the control
    endpoints included, is the same over https.

See README.md for the control endpoints and fault options.
"""

import argparse
import os
import signal
import socket
import socketserver
import ssl
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__

import gss  # noqa: E402
import spotgo  # noqa: E402
from common import Request, json_response, load_json  # noqa: E402
from faults import FaultSet  # noqa: E402
from journal import Journal  # noqa: E402

CONTROL_PREFIX = "/_sandbox/"
IDLE_TIMEOUT_SECONDS = 300
CONFIG_KEYS = ("gss_key", "gss_site", "spotgo_key", "spotgo_key_header")


class ControlError(Exception):
    """A control request that cannot be served: HTTP status and message."""

    def __init__(self, status, text):
        super().__init__(text)
        self.status = status


class Exchange:
    """An API request in flight: its journal entry, the fault rule applied (if any), its API."""

    def __init__(self, request, api, auth_ok, entry, rule):
        self.request = request
        self.api = api
        self.auth_ok = auth_ok
        self.entry = entry
        self.rule = rule


AUTH_CHECKS = {"gss": gss.authorised, "spotgo": spotgo.authorised}


def api_of(request):
    """The API a request is for: "spotgo" for /api/v1/..., "gss" for everything else."""
    return "spotgo" if request.raw_path.lower().startswith("/api/v1/") else "gss"


class Sandbox:
    """All state of the sandbox, and the control endpoints that inspect and change it."""

    def __init__(self, defaults):
        self.lock = threading.Lock()
        self.defaults = dict(defaults)
        self.journal = Journal()
        self.faults = FaultSet()
        self.gss = gss.GssStore()
        self.spotgo = spotgo.SpotgoStore()
        self.config = dict(defaults)

    def reset(self):
        """Back to the state at start-up (caller holds the lock)."""
        self.config = dict(self.defaults)
        self.journal.clear()
        self.faults.clear()
        self.gss.reset()
        self.spotgo.reset()

    # -----------------------------------------------------------------------------------------
    # API requests

    def begin(self, request):
        """Journal an API request and pick the fault rule for it; returns an Exchange."""
        api = api_of(request)
        with self.lock:
            auth_ok = AUTH_CHECKS[api](request, self.config)
            entry = self.journal.record(request, auth_ok, self._secret_headers())
            rule = self.faults.pick(request)
            entry["fault"] = rule is not None
        return Exchange(request, api, auth_ok, entry, rule)

    def answer(self, exchange):
        """The API's Response to an exchange."""
        store = self.spotgo if exchange.api == "spotgo" else self.gss
        with self.lock:
            return store.handle(exchange.request, exchange.auth_ok)

    def finish(self, exchange, status):
        """Record the status answered (None: the connection was cut)."""
        with self.lock:
            exchange.entry["status"] = status

    def _secret_headers(self):
        return {"access_key", "x-api-key", self.config["spotgo_key_header"].lower()}

    # -----------------------------------------------------------------------------------------
    # Control endpoints

    def control(self, request):
        """Answer a /_sandbox/ request with JSON."""
        name = request.raw_path[len(CONTROL_PREFIX):].strip("/")
        endpoint = CONTROL_ENDPOINTS.get(name)
        if endpoint is None:
            return json_response(404, {"error": "no control endpoint %r; known: %s"
                                       % (name, ", ".join(sorted(CONTROL_ENDPOINTS)))})
        methods, action = endpoint
        if request.method not in methods:
            return json_response(405, {"error": "%s takes %s" % (name, " or ".join(methods))},
                                 headers=[("Allow", ", ".join(methods))])
        try:
            body = _control_body(request)
            with self.lock:
                result = action(self, request, body)
        except ControlError as error:
            return json_response(error.status, {"error": str(error)})
        except ValueError as error:
            return json_response(400, {"error": str(error)})
        except Exception as error:  # noqa: BLE001 (a sandbox bug or an odd body: say so)
            traceback.print_exc()
            return json_response(500, {"error": "sandbox error: %r" % error})
        return json_response(200, result)

    def ctl_health(self, request, body):
        return {"ok": True}

    def ctl_reset(self, request, body):
        self.reset()
        return {"ok": True}

    def ctl_journal(self, request, body):
        return {"entries": self.journal.select(request.args.get("path"))}

    def ctl_journal_clear(self, request, body):
        self.journal.clear()
        return {"ok": True}

    def ctl_fault(self, request, body):
        if request.method == "GET":
            return {"rules": [rule.describe() for rule in self.faults.rules]}
        rule = self.faults.add(body)
        return {"ok": True, "id": rule.id, "rule": rule.describe()}

    def ctl_fault_clear(self, request, body):
        self.faults.clear()
        return {"ok": True}

    def ctl_config(self, request, body):
        if request.method == "POST":
            self.config.update(_config_changes(body))
        return dict(self.config)

    def ctl_gss_orders(self, request, body):
        if request.method == "GET":
            return self.gss.dump()
        return {"ok": True, "count": _seed(self.gss, body)}

    def ctl_gss_process(self, request, body):
        number = body.get("packingslipno") if isinstance(body, dict) else None
        if not isinstance(number, str):
            raise ValueError("packingslipno (a string) is required")
        try:
            if body.get("remove"):
                self.gss.remove(number)
            else:
                self.gss.process(number, body.get("status", {}))
        except KeyError:
            raise ControlError(404, "no GSS order %r" % number) from None
        return {"ok": True}

    def ctl_spotgo_orders(self, request, body):
        if request.method == "GET":
            return self.spotgo.dump()
        return {"ok": True, "count": _seed(self.spotgo, body)}


# name under /_sandbox/ -> (methods, action). Actions without arguments accept GET as well,
# so that `ctl.py reset` works without a body.
CONTROL_ENDPOINTS = {
    "health": (("GET",), Sandbox.ctl_health),
    "reset": (("GET", "POST"), Sandbox.ctl_reset),
    "journal": (("GET",), Sandbox.ctl_journal),
    "journal/clear": (("GET", "POST"), Sandbox.ctl_journal_clear),
    "fault": (("GET", "POST"), Sandbox.ctl_fault),
    "fault/clear": (("GET", "POST"), Sandbox.ctl_fault_clear),
    "config": (("GET", "POST"), Sandbox.ctl_config),
    "gss/orders": (("GET", "POST"), Sandbox.ctl_gss_orders),
    "gss/process": (("POST",), Sandbox.ctl_gss_process),
    "spotgo/orders": (("GET", "POST"), Sandbox.ctl_spotgo_orders),
}


def _control_body(request):
    """A control request's JSON body; {} when empty. Raises ValueError when not JSON."""
    if not request.body.strip():
        return {}
    try:
        return load_json(request.body)
    except (ValueError, RecursionError):
        raise ValueError("the body is not valid JSON") from None


def _config_changes(body):
    """Validated configuration changes; raises ValueError."""
    if not isinstance(body, dict):
        raise ValueError("config must be an object")
    unknown = sorted(set(body) - set(CONFIG_KEYS))
    if unknown:
        raise ValueError("unknown config key(s): %s; known: %s"
                         % (", ".join(unknown), ", ".join(CONFIG_KEYS)))
    for key, value in body.items():
        if not isinstance(value, str) or key == "spotgo_key_header" and not value.strip():
            raise ValueError("%s must be a string" % key)
    return body


def _seed(store, body):
    """Apply {"orders": [...]} and/or {"generate": {...}} to a store; returns the count."""
    if not isinstance(body, dict) or not ("orders" in body or "generate" in body):
        raise ValueError('expected {"orders": [...]} or {"generate": {...}}')
    count = 0
    if "orders" in body:
        count += store.seed(body["orders"])
    if "generate" in body:
        count += store.generate(body["generate"])
    return count


# ---------------------------------------------------------------------------------------------
# HTTP

class SandboxHandler(BaseHTTPRequestHandler):
    """Reads requests off one connection and hands them to the Sandbox."""

    protocol_version = "HTTP/1.1"
    server_version = "spotgo-gss-sandbox/1.0"
    sys_version = ""
    timeout = IDLE_TIMEOUT_SECONDS
    # Headers and body go out in separate writes: without this, small answers on a
    # kept-alive connection can wait for the peer's delayed ACK.
    disable_nagle_algorithm = True

    def setup(self):
        super().setup()
        self.conn_id = self.server.connection_id(self.request)

    def handle(self):
        try:
            if self.server.tls and not self._handshake():
                return
            super().handle()
        except (ConnectionError, TimeoutError, ssl.SSLError):
            self.close_connection = True

    def _handshake(self):
        """The TLS handshake (the accepted socket defers it to this thread); False if it failed."""
        try:
            self.request.do_handshake()
            return True
        except (OSError, ValueError) as error:  # ssl.SSLError is an OSError
            self.close_connection = True
            if self.server.verbose:
                sys.stderr.write("sandbox: conn %d TLS handshake failed: %s\n" % (self.conn_id, error))
            return False

    def do_GET(self):
        self._serve()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET

    def version_string(self):
        return self.server_version

    def log_message(self, format, *args):  # noqa: A002 (the base class's signature)
        if self.server.verbose:
            sys.stderr.write("sandbox: conn %d %s\n" % (self.conn_id, format % args))

    def _serve(self):
        try:
            body = self._read_body()
        except ValueError as error:
            self.close_connection = True
            self._send(json_response(400, {"Message": "Bad request body: %s" % error}))
            return
        request = Request(self.command, self.path, self.headers, body, self.conn_id)
        sandbox = self.server.sandbox
        if request.raw_path.startswith(CONTROL_PREFIX):
            self._send(sandbox.control(request))
            return
        exchange = sandbox.begin(request)
        rule = exchange.rule
        if rule is not None and rule.answers():
            response = rule.response(exchange.api)
        else:
            response = self._api_answer(sandbox, exchange)
        if rule is not None and rule.delay_seconds > 0:
            time.sleep(rule.delay_seconds)
        if rule is not None and rule.cuts:
            sandbox.finish(exchange, None)
            self._cut()
            return
        sandbox.finish(exchange, response.status)
        self._send(response)

    def _api_answer(self, sandbox, exchange):
        """The API's answer; a bug in the sandbox becomes a 500 with the traceback on stderr."""
        try:
            return sandbox.answer(exchange)
        except Exception as error:  # noqa: BLE001 (report any failure to the client)
            traceback.print_exc()
            return json_response(500, {"Message": "sandbox error: %r" % error})

    def _read_body(self):
        """The request body (Content-Length or chunked); raises ValueError on bad framing."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            size = int(length)
        except ValueError:
            raise ValueError("invalid Content-Length") from None
        if size < 0:
            raise ValueError("invalid Content-Length")
        data = self.rfile.read(size)
        if len(data) < size:
            raise ConnectionResetError("the client sent a short body")
        return data

    def _read_chunked(self):
        pieces = []
        while True:
            line = self.rfile.readline(1024)
            if not line:
                raise ConnectionResetError("the client hung up inside a chunked body")
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise ValueError("invalid chunk size") from None
            if size == 0:
                while self.rfile.readline(8192).strip():
                    pass  # trailer fields are ignored
                return b"".join(pieces)
            pieces.append(self.rfile.read(size))
            self.rfile.readline(8)

    def _send(self, response):
        """Write a Response; a client that has gone away is ignored."""
        try:
            self.send_response(response.status)
            for name, value in response.headers:
                self.send_header(name, _latin1(value))
            if response.status != 204:
                self.send_header("Content-Length", str(response.length))
            if self.close_connection:
                self.send_header("Connection", "close")
            elif self.request_version == "HTTP/1.0":
                self.send_header("Connection", "keep-alive")
            self.end_headers()
            if response.chunks is None:
                if response.body and response.status != 204:
                    self.wfile.write(response.body)
            else:
                for chunk in response.chunks:
                    self.wfile.write(chunk)
        except (ConnectionError, TimeoutError, ssl.SSLError):
            self.close_connection = True

    def _cut(self):
        """Close the connection without answering."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _latin1(value):
    """A header value that http.server can encode (it writes headers as Latin-1)."""
    text = str(value)
    return text.encode("latin-1", "replace").decode("latin-1")


class SandboxServer(ThreadingHTTPServer):
    """The listening socket: numbers connections and keeps error output quiet."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, port, sandbox, verbose=False, tls_context=None):
        self.sandbox = sandbox
        self.verbose = verbose
        self.tls = tls_context is not None
        self._next_conn = 1
        self._conn_ids = {}
        self._conn_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), SandboxHandler)
        if tls_context is not None:
            # Accepted sockets are SSLSockets whose handshake waits for SandboxHandler.handle,
            # in the connection's own thread, not in the accepting one.
            self.socket = tls_context.wrap_socket(self.socket, server_side=True,
                                                  do_handshake_on_connect=False)

    def server_bind(self):
        # HTTPServer.server_bind would look up the host name (slow without DNS).
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def process_request(self, request, client_address):
        # Runs in the accepting thread, so numbers follow the order of acceptance.
        with self._conn_lock:
            self._conn_ids[request] = self._next_conn
            self._next_conn += 1
        super().process_request(request, client_address)

    def connection_id(self, request):
        with self._conn_lock:
            return self._conn_ids.pop(request, 0)

    def handle_error(self, request, client_address):
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError, ssl.SSLError)):
            return
        super().handle_error(request, client_address)


# ---------------------------------------------------------------------------------------------
# Command line

def parse_args(argv):
    parser = argparse.ArgumentParser(description="spotgo_gss API sandbox (127.0.0.1 only)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on; 0 picks one")
    parser.add_argument("--port-file", help="write the chosen port to this file")
    parser.add_argument("--gss-key", default="gss-test-key", help="expected GSS access_key")
    parser.add_argument("--gss-site", default="1234", help="expected GSS site_id")
    parser.add_argument("--spotgo-key", default="spotgo-test-key",
                        help="expected SpotGo API key")
    parser.add_argument("--spotgo-key-header", default="X-Api-Key",
                        help="header that carries the SpotGo key")
    parser.add_argument("--verbose", action="store_true", help="log each request to stderr")
    parser.add_argument("--tls-cert", metavar="FILE",
                        help="serve https: PEM certificate (chain) of the server; needs --tls-key")
    parser.add_argument("--tls-key", metavar="FILE", help="PEM private key for --tls-cert")
    args = parser.parse_args(argv)
    if (args.tls_cert is None) != (args.tls_key is None):
        parser.error("--tls-cert and --tls-key go together")
    return args


def tls_context(cert_file, key_file):
    """A server-side ssl context, TLS 1.2 or later; raises OSError (ssl.SSLError)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    return context


def write_port_file(path, port):
    """Write the port atomically: readers see either no file or the whole number."""
    temporary = "%s.%d.tmp" % (path, os.getpid())
    with open(temporary, "w") as handle:
        handle.write("%d\n" % port)
    os.replace(temporary, path)


def main(argv=None):
    args = parse_args(argv)
    sandbox = Sandbox({"gss_key": args.gss_key, "gss_site": args.gss_site,
                       "spotgo_key": args.spotgo_key,
                       "spotgo_key_header": args.spotgo_key_header})
    context = None
    if args.tls_cert is not None:
        try:
            context = tls_context(args.tls_cert, args.tls_key)
        except OSError as error:
            sys.stderr.write("sandbox: cannot load --tls-cert %s / --tls-key %s: %s\n"
                             % (args.tls_cert, args.tls_key, error))
            return 1
    try:
        server = SandboxServer(args.port, sandbox, verbose=args.verbose, tls_context=context)
    except OSError as error:
        sys.stderr.write("sandbox: cannot listen on 127.0.0.1:%d: %s\n" % (args.port, error))
        return 1
    port = server.server_address[1]

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    serving = threading.Thread(target=server.serve_forever, name="sandbox-accept", daemon=True)
    serving.start()

    if args.port_file:
        write_port_file(args.port_file, port)
    print("sandbox listening on 127.0.0.1:%d%s" % (port, " (https)" if context else ""),
          flush=True)
    try:
        while not stop.wait(3600):
            pass
    finally:
        server.shutdown()
        server.server_close()
        if args.port_file:
            try:
                os.unlink(args.port_file)
            except OSError:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
