#!/usr/bin/env python3
"""Self-test of the sandbox: starts server.py on a free port and exercises every API endpoint,
every control endpoint and every fault kind, then stops it with SIGTERM.

    python3 test/sandbox/selftest.py [-v]

Prints one line per failed check (all checks with -v) and `N passed, N failed` last; exits 1
when anything failed.
"""

import base64
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
GSS_AUTH = {"access_key": "gss-test-key", "site_id": "1234"}
SPOTGO_AUTH = {"X-Api-Key": "spotgo-test-key",
               "Accept": "application/json; x-api-version=1.0",
               "Content-Type": "application/json; x-api-version=1.0"}

TESTS = []


def test(function):
    TESTS.append(function)
    return function


class Check(Exception):
    pass


def expect(condition, text):
    if not condition:
        raise Check(text)


def equal(actual, wanted, text=""):
    if actual != wanted:
        raise Check("%s: expected %r, got %r" % (text or "value", wanted, actual))


# ---------------------------------------------------------------------------------------------
# Talking to the sandbox

class Client:
    """HTTP helpers bound to one running sandbox."""

    def __init__(self, port):
        self.port = port

    def connection(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def call(self, method, path, body=None, headers=None, conn=None):
        """Returns (status, headers as a lower-cased dict, body bytes)."""
        own = conn is None
        conn = conn or self.connection()
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        try:
            conn.request(method, path, body=body, headers=headers or {})
            answer = conn.getresponse()
            data = answer.read()
            return answer.status, {k.lower(): v for k, v in answer.getheaders()}, data
        finally:
            if own:
                conn.close()

    def json(self, method, path, body=None, headers=None, conn=None):
        """Returns (status, parsed JSON or None, headers)."""
        status, heads, data = self.call(method, path, body, headers, conn)
        return status, json.loads(data) if data else None, heads

    def gss(self, method, path, body=None, conn=None):
        return self.json(method, path, body, dict(GSS_AUTH), conn)

    def spotgo(self, method, path, body=None, conn=None):
        return self.json(method, path, body, dict(SPOTGO_AUTH), conn)

    def ctl(self, name, body=None):
        """A control call; raises Check unless it answers 200."""
        status, value, _ = self.json("POST" if body is not None else "GET",
                                     "/_sandbox/" + name, body)
        equal(status, 200, "control %s (%s)" % (name, value))
        return value

    def journal(self, prefix=None):
        query = "?path=" + urllib.parse.quote(prefix) if prefix else ""
        return self.ctl("journal" + query)["entries"]


def start_sandbox(port_file):
    process = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "server.py"), "--port", "0",
         "--port-file", port_file], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 15
    while time.time() < deadline:
        if os.path.exists(port_file):
            with open(port_file) as handle:
                return process, int(handle.read())
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    raise SystemExit("the sandbox did not start: %s" % process.stderr.read().decode())


# ---------------------------------------------------------------------------------------------
# GSS

@test
def gss_auth(c):
    status, body, _ = c.json("GET", "/api/customerorders")
    equal(status, 401, "no key")
    equal(body, {"Message": "Authorization has been denied for this request."})
    status, _, _ = c.json("GET", "/api/customerorders",
                          headers={"access_key": "gss-test-key", "site_id": "9"})
    equal(status, 401, "wrong site")
    status, _, _ = c.gss("GET", "/api/customerorders")
    equal(status, 200, "good key")
    entries = c.journal()
    equal([e["auth"] for e in entries], ["denied", "denied", "ok"], "auth column")
    equal(entries[2]["headers"]["access_key"], "<redacted>", "redaction")
    equal(entries[2]["headers"]["site_id"], "1234", "site_id kept")


@test
def gss_list_paging(c):
    c.ctl("gss/orders", {"generate": {"count": 250, "created": "2026-01-01T00:00:00Z"}})
    status, page, _ = c.gss("GET", "/api/customerorders")
    equal(status, 200)
    equal((page["Page"], page["PageSize"], page["Pages"], len(page["Results"])),
          (1, 100, 3, 100), "first page")
    first = page["Results"][0]
    equal(first["packingslipno"], "GEN00001", "order")
    expect("products" not in first, "products without includeProducts")
    expect("packages" in first, "stored packages are listed")
    expect(all(first[k] is not None for k in ("consignee", "address1", "email", "rawAddress",
                                              "isrural", "customField2Value")),
           "generated fields filled")
    equal(first["status"], None, "pending status")
    _, page, _ = c.gss("GET", "/api/customerorders?page=3&PAGESIZE=100&includeProducts=true")
    equal(len(page["Results"]), 50, "last page")
    equal(page["Results"][-1]["packingslipno"], "GEN00250", "last order")
    expect(page["Results"][0]["products"], "products present")
    _, _, raw = c.call("GET", "/api/customerorders?includeproducts=TRUE&pagesize=1",
                            headers=GSS_AUTH)
    expect(b'"units":' in raw and b'.00000000' in raw, "decimals as written")
    _, page, _ = c.gss("GET", "/api/customerorders?pagesize=5000")
    equal(page["PageSize"], 1000, "pagesize cap")
    _, page, _ = c.gss("GET", "/api/customerorders?packingslipno=NOPE")
    equal((page["Pages"], page["Results"]), (0, []), "nothing matches")
    status, body, _ = c.gss("GET", "/api/customerorders?page=abc")
    equal(status, 400, "bad page")
    expect("Message" in body, "error shape")


@test
def gss_list_filters(c):
    c.ctl("gss/orders", {"orders": [
        {"packingslipno": "B2", "_created": "2026-03-01T10:00:00Z"},
        {"packingslipno": "A#1", "_created": "2026-03-01T10:00:00Z"},
        {"packingslipno": "C,3", "_created": "2026-03-02T00:00:00Z"},
        {"packingslipno": "D4", "_created": "2026-02-01T00:00:00Z"}]})
    _, page, _ = c.gss("GET", "/api/customerorders")
    equal([o["packingslipno"] for o in page["Results"]], ["D4", "A#1", "B2", "C,3"],
          "created then number")
    for created_from in ("2026-03-01+10:00:00Z", "2026-03-01T10:00:00Z", "2026-03-01T10:00:00"):
        _, page, _ = c.gss("GET", "/api/customerorders?createdfrom=" + created_from)
        equal([o["packingslipno"] for o in page["Results"]], ["A#1", "B2", "C,3"],
              "createdfrom " + created_from)
    _, page, _ = c.gss("GET", "/api/customerorders?createdFrom=2026-02-01%2000:00:00Z"
                              "&CreatedTo=2026-03-01%2010:00:00Z")
    equal([o["packingslipno"] for o in page["Results"]], ["D4", "A#1", "B2"], "range")
    _, page, _ = c.gss("GET", "/api/customerorders?packingslipno=%23x,A%231,B2")
    equal([o["packingslipno"] for o in page["Results"]], ["A#1", "B2"], "number list")
    c.ctl("gss/process", {"packingslipno": "B2", "status": {
        "Status": "PICKED", "ticketnumber": "T1", "trackingurl": "https://t/1",
        "Picked": "2026-08-01T10:00:00", "Delivered": None, "manualticket": False}})
    _, page, _ = c.gss("GET", "/api/customerorders?excludecompleted=true")
    equal([o["packingslipno"] for o in page["Results"]], ["D4", "A#1", "C,3"], "pending only")
    _, page, _ = c.gss("GET", "/api/customerorders?packingslipno=B2")
    equal(page["Results"][0]["status"], {
        "Status": "PICKED", "ticketnumber": "T1", "trackingurl": "https://t/1",
        "Picked": "2026-08-01T10:00:00", "Delivered": None, "manualticket": False}, "status")
    status, _, _ = c.gss("GET", "/api/customerorders?createdfrom=yesterday")
    equal(status, 400, "bad date")


@test
def gss_put(c):
    status, body, _ = c.gss("PUT", "/api/customerorders", {"packingslipno": "X"})
    equal(status, 400, "object instead of array")
    expect("Message" in body, "error shape")
    status, _, _ = c.gss("PUT", "/api/customerorders", "not json")
    equal(status, 400, "not JSON")
    c.ctl("gss/orders", {"orders": [{"packingslipno": "DONE", "status": {"Status": "PICKED"}}]})
    status, body, _ = c.gss("PUT", "/api/customerorders", [
        {"packingslipno": "N1", "CONSIGNEE": "Ana", "rawaddress": "1 Road\nTown",
         "futureField": {"k": [1, 2]}, "products": [{"units": 2.50}]},
        {"packingslipno": "DONE", "consignee": "x"},
        {"consignee": "nobody"}])
    equal(status, 200)
    equal(body, [{"packingslipno": "N1", "result": True, "msg": ""},
                 {"packingslipno": "DONE", "result": False, "msg": "already processed"},
                 {"packingslipno": None, "result": False, "msg": "packingslipno is required"}])
    _, page, _ = c.gss("GET", "/api/customerorders?packingslipno=N1&includeProducts=true")
    order = page["Results"][0]
    equal((order["consignee"], order["rawAddress"], order["futureField"]),
          ("Ana", "1 Road\nTown", {"k": [1, 2]}), "stored as given")
    created = c.ctl("gss/orders")["orders"]
    created = {o["packingslipno"]: o["_created"] for o in created}
    time.sleep(0.01)
    status, body, _ = c.gss("PUT", "/api/customerorders",
                            [{"packingslipno": "N1", "consignee": "Bo"}])
    equal(body[0]["result"], True, "pending replaced")
    _, page, _ = c.gss("GET", "/api/customerorders?packingslipno=N1")
    equal(page["Results"][0]["consignee"], "Bo", "replacement")
    expect("futureField" not in page["Results"][0], "replaced wholesale")
    after = {o["packingslipno"]: o["_created"] for o in c.ctl("gss/orders")["orders"]}
    equal(after["N1"], created["N1"], "creation time kept")


@test
def gss_delete(c):
    status, body, _ = c.gss("DELETE", "/api/customerorders")
    equal(status, 400, "no numbers")
    many = ",".join("N%d" % i for i in range(51))
    status, body, _ = c.gss("DELETE", "/api/customerorders?packingslipno=" + many)
    equal((status, body), (409, {"Message": "Max delete limit is 50 packing slip numbers."}))
    c.ctl("gss/orders", {"orders": [{"packingslipno": "P1"}, {"packingslipno": "P#2"},
                                    {"packingslipno": "Q1", "status": {}}]})
    status, body, _ = c.gss("DELETE", "/api/customerorders?packingslipno=P1,P%232,Q1,ZZ")
    equal(status, 200)
    equal(body, {"P1": "Deleted.", "P#2": "Deleted.", "Q1": "Cannot be deleted. Already processed.",
                 "ZZ": "Invalid packing slip number."})
    _, body, _ = c.gss("DELETE", "/api/customerorders?packingslipno=P1")
    equal(body, {"P1": "Cannot be deleted. Already deleted."}, "repeat")
    equal(c.ctl("gss/orders")["deleted"], ["P#2", "P1"], "remembered")


@test
def gss_order_status(c):
    status, body, _ = c.gss("GET", "/v2/order/NOPE")
    equal((status, body), (404, {"Message": "No order found"}))
    c.ctl("gss/orders", {"orders": [{"packingslipno": "S#1", "consignee": "Cy"}]})
    status, body, _ = c.gss("GET", "/v2/order/S%231")
    equal(status, 200)
    equal((body["packingslipno"], body["consignee"], body["status"], body["ticketnumber"]),
          ("S#1", "Cy", "PENDING", None), "pending")
    equal(sorted(body), sorted(["packingslipno", "consignee", "status", "ticketnumber",
                                "trackingurl", "picked", "delivered", "ticketprinteddate",
                                "ticketprintedby", "ticketdeleteddate", "ticketdeletedby"]),
          "keys")
    c.ctl("gss/process", {"packingslipno": "S#1", "status": {
        "Status": "DELIVERED", "ticketnumber": "T9", "Picked": "2026-08-01T10:00:00",
        "Delivered": "2026-08-02T09:00:00", "ticketprintedby": "ops"}})
    _, body, _ = c.gss("GET", "/v2/order/S%231")
    equal((body["status"], body["ticketnumber"], body["picked"], body["delivered"],
           body["ticketprintedby"]),
          ("DELIVERED", "T9", "2026-08-01T10:00:00", "2026-08-02T09:00:00", "ops"), "processed")
    c.ctl("gss/process", {"packingslipno": "S#1", "remove": True})
    status, _, _ = c.gss("GET", "/v2/order/S%231")
    equal(status, 404, "removed")
    status, _, _ = c.json("POST", "/_sandbox/gss/process", {"packingslipno": "S#1"})
    equal(status, 404, "process unknown")


@test
def gss_pending(c):
    _, body, _ = c.gss("GET", "/v2/pendingorders")
    equal(body, [], "none")
    c.ctl("gss/orders", {"orders": [{"packingslipno": "P1"}, {"packingslipno": "P2"}]})
    c.ctl("gss/process", {"packingslipno": "P2"})
    _, body, _ = c.gss("GET", "/v2/pendingorders")
    equal([o["packingslipno"] for o in body], ["P1"], "pending")
    equal((body[0]["status"], body[0]["products"], body[0]["packages"]), (None, [], []), "shape")


@test
def gss_hundred_thousand(c):
    started = time.time()
    c.ctl("gss/orders", {"generate": {"count": 100000, "created": "2026-01-01T00:00:00Z"}})
    expect(time.time() - started < 2.0, "generate took %.2fs" % (time.time() - started))
    conn = c.connection()
    started = time.time()
    for page in (1, 2, 100):
        status, body, _ = c.gss("GET", "/api/customerorders?pagesize=1000&page=%d"
                                "&includeProducts=true&excludecompleted=true" % page, conn=conn)
        equal((status, body["Pages"], len(body["Results"])), (200, 100, 1000), "page %d" % page)
    equal(body["Results"][-1]["packingslipno"], "GEN100000", "last number")
    expect(time.time() - started < 3.0, "3 pages took %.2fs" % (time.time() - started))
    conn.close()


# ---------------------------------------------------------------------------------------------
# SpotGo

def spotgo_order(number, vat="PL1", **extra):
    order = {"orderNumber": number, "manager": {"name": "M", "email": "m@x"},
             "carrier": {"name": "Trans Baltic", "email": "c@x", "vatCode": vat},
             "internalComments": "hi", "requiredDocumentTypes": "cmr",
             "details": {"weight": 1200.50, "licensePlates": ["AB123CD"]},
             "locations": [{"sequence": 1, "type": "Loading",
                            "startDate": "2026-08-24T14:15:22.123Z"},
                           {"sequence": 2, "type": "Unloading",
                            "startDate": "2026-08-26T08:00:00.000Z"}]}
    order.update(extra)
    return order


@test
def spotgo_auth_and_version(c):
    status, body, heads = c.json("GET", "/api/v1/orders/" + "0" * 32)
    equal((status, body), (401, {"type": "about:blank", "title": "Unauthorized", "status": 401}))
    equal(heads["content-type"].split(";")[0], "application/problem+json", "problem type")
    status, body, _ = c.json("GET", "/api/v1/orders/x", headers={"X-Api-Key": "spotgo-test-key"})
    equal((status, body["title"]), (400, "Unsupported API version"))
    c.ctl("config", {"spotgo_key_header": "X-Other-Key"})
    headers = {"x-other-key": "spotgo-test-key", "Accept": "application/json; x-api-version=1.0"}
    status, _, _ = c.json("GET", "/api/v1/orders/x", headers=headers)
    equal(status, 404, "configured header accepted")
    status, _, _ = c.spotgo("GET", "/api/v1/orders/x")
    equal(status, 401, "X-Api-Key no longer used")
    entries = c.journal()
    equal(entries[-2]["headers"]["x-other-key"], "<redacted>", "configured header redacted")
    equal(entries[-1]["headers"]["x-api-key"], "<redacted>", "x-api-key redacted")


@test
def spotgo_create_get_delete(c):
    text = json.dumps(spotgo_order("ORD-1")).replace("1200.5", "1200.50")
    status, view, heads = c.spotgo("POST", "/api/v1/orders", text)
    equal(status, 200, "create")
    expect("x-api-version=1.0" in heads["content-type"], "versioned media type")
    equal(sorted(view), sorted(["orderId", "status", "orderNumber", "createdAt", "manager",
                                "carrier", "requiredDocumentTypes", "internalComments",
                                "details", "locations", "documents", "share"]), "view keys")
    equal((view["status"], view["requiredDocumentTypes"], view["documents"]),
          ("Created", ["cmr"], []), "view values")
    expect(view["createdAt"].endswith("Z"), "createdAt in UTC")
    expect(view["share"]["shareUrl"].startswith("https://share.sandbox.local/"), "share link")
    _, _, raw = c.call("GET", "/api/v1/orders/" + view["orderId"], headers=SPOTGO_AUTH)
    expect(b'"weight":1200.50' in raw, "decimal kept as written")
    status, again, _ = c.spotgo("GET", "/api/v1/orders/" + view["orderId"].upper())
    equal((status, again), (200, view), "get")
    status, body, _ = c.spotgo("POST", "/api/v1/orders", spotgo_order("ORD-1"))
    equal((status, body["title"]), (409, "Order with this orderNumber already exists."))
    for bad in ({"orderNumber": ""}, {"manager": {}}):
        status, body, _ = c.spotgo("POST", "/api/v1/orders", bad)
        equal((status, body), (400, {
            "type": "https://tools.ietf.org/html/rfc7231#section-6.5.1",
            "title": "One or more validation errors occurred.", "status": 400,
            "errors": {"OrderNumber": ["The OrderNumber field is required."]}}), "validation")
    status, _, _ = c.spotgo("GET", "/api/v1/orders/not-a-uuid")
    equal(status, 404, "malformed id")
    status, heads, data = c.call("DELETE", "/api/v1/orders/" + view["orderId"],
                                 headers=SPOTGO_AUTH)
    equal((status, data), (204, b""), "delete")
    status, _, _ = c.spotgo("DELETE", "/api/v1/orders/" + view["orderId"])
    equal(status, 404, "delete again")
    status, _, _ = c.spotgo("GET", "/api/v1/orders/" + view["orderId"])
    equal(status, 404, "gone")


@test
def spotgo_update(c):
    _, view, _ = c.spotgo("POST", "/api/v1/orders", spotgo_order("ORD-2"))
    path = "/api/v1/orders/" + view["orderId"]
    status, updated, _ = c.spotgo("PUT", path, spotgo_order("ORD-2", internalComments="new",
                                                            requiredDocumentTypes=["cmr", "pod"]))
    equal(status, 200)
    equal((updated["internalComments"], updated["requiredDocumentTypes"],
           updated["share"], updated["orderId"]),
          ("new", ["cmr", "pod"], view["share"], view["orderId"]), "updated")
    status, body, _ = c.spotgo("PUT", path, spotgo_order("ORD-2", vat="DE9"))
    equal((status, body["title"]), (400, "Carrier cannot be changed."))
    status, _, _ = c.spotgo("PUT", "/api/v1/orders/" + "1" * 32, spotgo_order("ORD-2"))
    equal(status, 404, "unknown")


@test
def spotgo_upsert(c):
    status, body, _ = c.spotgo("POST", "/api/v1/orders/upsert", spotgo_order("U-1"))
    equal(status, 200)
    equal((body["created"], body["updated"], body["linkChanged"]), (True, False, False), "first")
    share = body["order"]["share"]["shareUrl"]
    _, body, _ = c.spotgo("POST", "/api/v1/orders/upsert",
                          spotgo_order("U-1", internalComments="again"))
    equal((body["created"], body["updated"], body["linkChanged"]), (False, True, False), "same")
    equal((body["order"]["share"]["shareUrl"], body["order"]["internalComments"]),
          (share, "again"), "same carrier")
    _, body, _ = c.spotgo("POST", "/api/v1/orders/upsert", spotgo_order("U-1", vat="DE9"))
    equal(body["linkChanged"], True, "carrier changed")
    expect(body["order"]["share"]["shareUrl"] != share, "new share link")
    equal(len(c.ctl("spotgo/orders")["orders"]), 1, "one order")


@test
def spotgo_query(c):
    c.ctl("spotgo/orders", {"generate": {"count": 25, "created": "2026-05-01T00:00:00Z"}})
    numbers, token, pages = [], None, 0
    while True:
        status, body, _ = c.spotgo("POST", "/api/v1/orders/query",
                                   {"status": ["Created"], "pageSize": 10,
                                    "continuationToken": token})
        equal(status, 200, "page")
        numbers += [item["orderNumber"] for item in body["items"]]
        pages += 1
        token = body["continuationToken"]
        if token is None:
            break
    equal((pages, numbers), (3, ["SG-%05d" % i for i in range(1, 26)]), "all pages")
    _, body, _ = c.spotgo("POST", "/api/v1/orders/query", {"pageSize": 10})
    status, bad, _ = c.spotgo("POST", "/api/v1/orders/query",
                              {"pageSize": 10, "continuationToken": body["continuationToken"][:-3]})
    equal(status, 400, "damaged token")
    status, bad, _ = c.spotgo("POST", "/api/v1/orders/query",
                              {"orderNumber": "SG", "continuationToken": body["continuationToken"]})
    equal(status, 400, "token of another filter")
    _, body, _ = c.spotgo("POST", "/api/v1/orders/query", {"orderNumber": "SG-0001"})
    equal([i["orderNumber"] for i in body["items"]], ["SG-%05d" % i for i in range(10, 20)],
          "orderNumber substring")
    _, body, _ = c.spotgo("POST", "/api/v1/orders/query", {"carrier": "nordic haulage"})
    equal(len(body["items"]), 5, "carrier name")
    _, body, _ = c.spotgo("POST", "/api/v1/orders/query", {"status": ["Cancelled"]})
    equal(body, {"items": [], "continuationToken": None}, "status")
    # generated order i loads on created + 1 day at 08:00 (created = May 1 + (i-1) minutes)
    _, body, _ = c.spotgo("POST", "/api/v1/orders/query",
                          {"loadingDate": {"from": "2026-05-02T00:00:00Z",
                                           "to": "2026-05-02T23:59:59Z"}})
    equal(len(body["items"]), 25, "loading window")
    _, body, _ = c.spotgo("POST", "/api/v1/orders/query",
                          {"unloadingDate": {"from": "2026-05-02T00:00:00Z",
                                             "to": "2026-05-02T23:59:59Z"}})
    equal(len(body["items"]), 0, "unloading window")
    status, _, _ = c.spotgo("POST", "/api/v1/orders/query", {"pageSize": 0})
    equal(status, 400, "bad pageSize")


def multipart(parts, boundary="sandbox-boundary-42"):
    chunks = []
    for name, filename, content_type, content in parts:
        disposition = 'form-data; name="%s"' % name
        if filename is not None:
            disposition += '; filename="%s"' % filename
        chunks.append(b"--" + boundary.encode() + b"\r\nContent-Disposition: "
                      + disposition.encode() + b"\r\n")
        if content_type:
            chunks.append(b"Content-Type: " + content_type.encode() + b"\r\n")
        chunks.append(b"\r\n" + content + b"\r\n")
    chunks.append(b"--" + boundary.encode() + b"--\r\n")
    return b"".join(chunks), "multipart/form-data; boundary=" + boundary


@test
def spotgo_documents(c):
    _, view, _ = c.spotgo("POST", "/api/v1/orders", spotgo_order("D-1"))
    base = "/api/v1/orders/" + view["orderId"] + "/documents"
    content = bytes(range(256)) * 4 + b"\r\n--sandbox-boundary-4\r\n" + bytes(range(255, -1, -1))
    body, content_type = multipart([("file", "cmr scan.pdf", "application/pdf", content),
                                    ("documentType", None, None, b"cmr")])
    headers = dict(SPOTGO_AUTH, **{"Content-Type": content_type})
    status, heads, data = c.call("POST", base, body, headers)
    equal(status, 200, "upload (%s)" % data[:200])
    document = json.loads(data)
    equal((document["name"], document["documentType"], document["comment"], document["status"]),
          ("cmr scan.pdf", "cmr", None, "Processing"), "document view")
    status, heads, data = c.call("GET", base + "/" + document["documentId"] + "/content",
                                 headers=SPOTGO_AUTH)
    equal(status, 200, "content")
    expect(data == content, "bytes differ")
    equal(heads["content-type"], "application/pdf", "content type")
    equal(heads["content-disposition"], 'attachment; filename="cmr scan.pdf"', "disposition")
    _, order, _ = c.spotgo("GET", "/api/v1/orders/" + view["orderId"])
    equal(order["documents"], [document], "listed on the order")
    for parts, field in (([("documentType", None, None, b"cmr")], "file"),
                         ([("file", "a.txt", "text/plain", b"x")], "documentType")):
        body, content_type = multipart(parts)
        status, _, data = c.call("POST", base, body, dict(SPOTGO_AUTH, **{
            "Content-Type": content_type}))
        equal(status, 400, "missing " + field)
        expect(field in json.loads(data)["errors"], "error names " + field)
    status_path = base + "/" + document["documentId"] + "/status"
    status, body, _ = c.spotgo("POST", status_path, {"status": "Archived"})
    equal(status, 400, "unknown status value")
    status, body, _ = c.spotgo("POST", status_path, {"status": "Rejected",
                                                     "rejectionReason": "blurred",
                                                     "comment": "rescan"})
    equal((status, body["status"], body["comment"]), (200, "Rejected", "rescan"), "rejected")
    status, body, _ = c.spotgo("POST", status_path, {"status": "Accepted"})
    equal((status, body["title"]), (409, "Invalid document status transition."))
    stored = c.ctl("spotgo/orders")["orders"][0]["documents"][0]
    equal((stored["rejectionReason"], stored["size"]), ("blurred", len(content)), "stored")
    status, _, _ = c.spotgo("GET", base + "/" + "2" * 32 + "/content")
    equal(status, 404, "unknown document")


@test
def spotgo_seed(c):
    c.ctl("spotgo/orders", {"orders": [dict(spotgo_order("S-1"),
                                            orderId="11111111-2222-4333-8444-555555555555",
                                            _created="2026-01-01T00:00:00Z")]})
    status, view, _ = c.spotgo("GET", "/api/v1/orders/11111111-2222-4333-8444-555555555555")
    equal((status, view["orderNumber"], view["createdAt"]),
          (200, "S-1", "2026-01-01T00:00:00.000Z"), "seeded")


# ---------------------------------------------------------------------------------------------
# HTTP behaviour, journal, configuration

@test
def keep_alive_and_close(c):
    conn = c.connection()
    for _ in range(3):
        status, _, _ = c.gss("GET", "/v2/pendingorders", conn=conn)
        equal(status, 200)
    conn.close()
    c.gss("GET", "/v2/pendingorders")
    conns = [e["conn"] for e in c.journal()]
    equal(len(set(conns[:3])), 1, "one connection reused")
    expect(conns[3] > conns[0], "a later connection gets a larger number")
    status, heads, _ = c.call("GET", "/v2/pendingorders",
                              headers=dict(GSS_AUTH, Connection="close"))
    equal(heads.get("connection"), "close", "Connection: close echoed")
    expect(all(k in heads for k in ("content-length", "content-type")), "framing headers")


@test
def journal_entries(c):
    c.call("POST", "/api/customerorders/x%2Fy?a=1&b=%23&a=2", b"\xff\xfe", GSS_AUTH)
    c.call("PUT", "/api/customerorders", b'[{"packingslipno":"J1","n":1.50}]',
           dict(GSS_AUTH, **{"Content-Type": "application/json"}))
    entries = c.journal()
    equal([e["seq"] for e in entries], [1, 2], "seq")
    first = entries[0]
    equal((first["method"], first["path"], first["query"], first["args"]),
          ("POST", "/api/customerorders/x%2Fy", "a=1&b=%23&a=2", {"a": "2", "b": "#"}),
          "raw path and query")
    equal((first["body"], first["body_b64"], first["json"], first["status"], first["fault"]),
          (None, base64.b64encode(b"\xff\xfe").decode(), None, 404, False), "binary body")
    second = entries[1]
    equal(second["json"], [{"packingslipno": "J1", "n": 1.5}], "json body")
    expect("body_b64" not in second, "no body_b64 for text")
    equal(len(c.journal("/api/customerorders/x")), 1, "path filter")
    c.ctl("journal/clear", {})
    equal(c.journal(), [], "cleared")
    equal(len(c.ctl("gss/orders")["orders"]), 1, "journal/clear keeps orders")


@test
def config_and_reset(c):
    c.ctl("config", {"gss_key": "other", "gss_site": "77"})
    status, _, _ = c.gss("GET", "/v2/pendingorders")
    equal(status, 401, "old key refused")
    status, _, _ = c.json("GET", "/v2/pendingorders", headers={"access_key": "other",
                                                               "site_id": "77"})
    equal(status, 200, "new key")
    status, _, _ = c.json("POST", "/_sandbox/config", {"bogus": "x"})
    equal(status, 400, "unknown config key")
    c.ctl("fault", {"path": "/v2/", "status": 500, "times": -1})
    c.ctl("gss/orders", {"orders": [{"packingslipno": "R1"}]})
    c.ctl("spotgo/orders", {"orders": [{"orderNumber": "R1"}]})
    c.ctl("reset", {})
    equal(c.ctl("config")["gss_key"], "gss-test-key", "config restored")
    equal((c.ctl("fault")["rules"], c.journal(), c.ctl("gss/orders")["orders"],
           c.ctl("spotgo/orders")["orders"]), ([], [], [], []), "state cleared")
    status, _, _ = c.gss("GET", "/v2/pendingorders")
    equal(status, 200, "after reset")


@test
def chunked_request_body(c):
    sock = socket.create_connection(("127.0.0.1", c.port), timeout=10)
    body = b'[{"packingslipno":"CH1"}]'
    head = ("PUT /api/customerorders HTTP/1.1\r\nHost: x\r\naccess_key: gss-test-key\r\n"
            "site_id: 1234\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
    sock.sendall(head.encode() + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
    answer = b""
    while True:
        piece = sock.recv(65536)
        if not piece:
            break
        answer += piece
    sock.close()
    expect(answer.startswith(b"HTTP/1.1 200"), "chunked PUT answered %r" % answer[:40])
    equal(c.ctl("gss/orders")["orders"][0]["packingslipno"], "CH1", "stored")


# ---------------------------------------------------------------------------------------------
# Faults

@test
def fault_status(c):
    rule = c.ctl("fault", {"method": "put", "path": "/api/customerorders", "times": 2,
                           "status": 503, "retry_after": 7})
    equal(rule["rule"]["retry_after"], "7", "retry_after as text")
    results = []
    for _ in range(3):
        status, heads, data = c.call("PUT", "/api/customerorders", b'[{"packingslipno":"F1"}]',
                                     GSS_AUTH)
        results.append((status, heads.get("retry-after")))
    equal(results, [(503, "7"), (503, "7"), (200, None)], "times=2")
    equal([e["fault"] for e in c.journal()], [True, True, False], "journal fault flags")
    status, body, _ = c.gss("GET", "/api/customerorders")
    equal(status, 200, "other method untouched")
    c.ctl("fault/clear", {})
    c.ctl("journal/clear")
    c.ctl("fault", {"path": "/v2/order/", "after": 1, "times": -1, "status": 429,
                    "body": {"Message": "slow down"}, "query_contains": "x=1"})
    got = [c.gss("GET", "/v2/order/A?x=1")[0] for _ in range(3)]
    got.append(c.gss("GET", "/v2/order/A?x=2")[0])
    equal(got, [404, 429, 429, 404], "after=1, times=-1, query_contains")
    status, body, _ = c.gss("GET", "/v2/order/A?x=1")
    equal(body, {"Message": "slow down"}, "custom body")
    described = c.ctl("fault")["rules"][0]
    equal((described["seen"], described["applied"], described["spent"]), (4, 3, False),
          "counters")
    c.ctl("fault/clear")
    status, _, _ = c.gss("GET", "/v2/order/A?x=1")
    equal(status, 404, "cleared")
    status, _, _ = c.json("POST", "/_sandbox/fault", {"stauts": 500})
    equal(status, 400, "unknown field refused")
    c.ctl("fault", {"path": "/v2/pendingorders"})
    equal(c.gss("GET", "/v2/pendingorders")[0], 503, "default effect")
    c.ctl("fault", {"path": "/_sandbox/", "status": 500})
    equal(c.ctl("health"), {"ok": True}, "control paths are never faulted")


@test
def fault_first_rule_wins(c):
    c.ctl("fault", {"path": "/v2/", "status": 500, "times": 1})
    c.ctl("fault", {"path": "/v2/pendingorders", "status": 502, "times": 1})
    got = [c.gss("GET", "/v2/pendingorders")[0] for _ in range(3)]
    equal(got, [500, 502, 200], "registration order")


@test
def fault_delay(c):
    c.ctl("fault", {"path": "/v2/pendingorders", "delay_ms": 800})
    outcome = {}

    def slow():
        started = time.time()
        outcome["status"] = c.gss("GET", "/v2/pendingorders")[0]
        outcome["elapsed"] = time.time() - started

    worker = threading.Thread(target=slow)
    worker.start()
    time.sleep(0.1)
    started = time.time()
    status, _, _ = c.gss("GET", "/v2/order/X")
    quick = time.time() - started
    during = c.journal()
    worker.join()
    equal(status, 404, "other request")
    expect(quick < 0.4, "other request waited %.2fs" % quick)
    equal((outcome["status"], outcome["elapsed"] >= 0.75), (200, True), "delayed normal answer")
    equal([e["status"] for e in during], [None, 404], "status unknown while delayed")
    equal([e["seq"] for e in during], [1, 2], "arrival order")


def cut_request(c, number):
    """PUT one order on a fresh connection; raises Check if an answer arrives."""
    conn = c.connection()
    try:
        c.call("PUT", "/api/customerorders", [{"packingslipno": number}], GSS_AUTH, conn)
        raise Check("an answer came although the connection was cut")
    except (http.client.RemoteDisconnected, ConnectionError):
        pass
    finally:
        conn.close()


@test
def fault_cut(c):
    # cut alone: the API acts, the answer is lost
    c.ctl("fault", {"path": "/api/customerorders", "cut": True})
    cut_request(c, "LOST-ANSWER")
    entry = c.journal()[0]
    equal((entry["status"], entry["fault"]), (None, True), "journal")
    numbers = [o["packingslipno"] for o in c.ctl("gss/orders")["orders"]]
    equal(numbers, ["LOST-ANSWER"], "the API acted")
    # cut with a status: the API never sees the request
    c.ctl("fault", {"path": "/api/customerorders", "cut": True, "status": 500})
    cut_request(c, "NEVER-SEEN")
    numbers = [o["packingslipno"] for o in c.ctl("gss/orders")["orders"]]
    equal(numbers, ["LOST-ANSWER"], "the API did not act")
    status, _, _ = c.gss("PUT", "/api/customerorders", [{"packingslipno": "OK"}])
    equal(status, 200, "next request fine")


@test
def fault_malformed(c):
    c.ctl("fault", {"path": "/api/v1/orders/query", "malformed": True})
    status, heads, data = c.call("POST", "/api/v1/orders/query", b"{}", SPOTGO_AUTH)
    equal(status, 200, "status")
    try:
        json.loads(data)
        raise Check("body parsed although malformed: %r" % data)
    except ValueError:
        pass
    c.ctl("fault", {"path": "/api/customerorders", "malformed": True})
    _, _, data = c.call("GET", "/api/customerorders", headers=GSS_AUTH)
    expect(data.startswith(b'{"Page":1'), "GSS-looking truncated page")


@test
def fault_huge(c):
    c.ctl("fault", {"path": "/api/customerorders", "huge_bytes": 3000000, "times": 2})
    status, heads, data = c.call("GET", "/api/customerorders", headers=GSS_AUTH)
    equal(status, 200)
    equal(int(heads["content-length"]), len(data), "Content-Length")
    expect(abs(len(data) - 3000000) < 100, "size %d" % len(data))
    equal(json.loads(data)["Results"], [], "valid JSON")
    # a client that gives up early must not upset the server
    sock = socket.create_connection(("127.0.0.1", c.port), timeout=10)
    sock.sendall(b"GET /api/customerorders HTTP/1.1\r\nHost: x\r\naccess_key: gss-test-key\r\n"
                 b"site_id: 1234\r\n\r\n")
    sock.recv(1000)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()
    time.sleep(0.2)
    status, _, _ = c.gss("GET", "/api/customerorders")
    equal(status, 200, "alive after an aborted download")


@test
def fault_body_hex(c):
    c.ctl("fault", {"path": "/api/customerorders", "body_hex": "7b2258223a2241fffe42227d",
                    "times": 1})
    status, heads, data = c.call("GET", "/api/customerorders", headers=GSS_AUTH)
    equal((status, data), (200, b'{"X":"A\xff\xfeB"}'), "raw bytes, default status 200")
    equal(c.journal()[0]["fault"], True, "the API did not answer")
    c.ctl("fault", {"path": "/v2/order/", "body_hex": "", "status": 404})
    status, _, data = c.call("GET", "/v2/order/X", headers=GSS_AUTH)
    equal((status, data), (404, b""), "empty body with a status")
    for bad in ({"body_hex": "abc"}, {"body_hex": "zz"}, {"body_hex": "00", "body": "x"},
                {"body_hex": 1}):
        status, _, _ = c.call("POST", "/_sandbox/fault", bad)
        equal(status, 400, "refused: %r" % bad)


# ---------------------------------------------------------------------------------------------
# ctl.py

def run_ctl(port, *args):
    env = dict(os.environ, SANDBOX_PORT=str(port))
    return subprocess.run([sys.executable, os.path.join(HERE, "ctl.py")] + list(args),
                          capture_output=True, text=True, env=env, timeout=60)


@test
def ctl_client(c):
    payload = {"orders": [{"packingslipno": "Q\\1\t", "consignee": "Zoë \"Z\"\nline"}]}
    hexarg = json.dumps(payload).encode().hex()
    done = run_ctl(c.port, "gss/orders", hexarg)
    equal((done.returncode, done.stdout), (0, '{"ok":true,"count":1}\n'), "seed via hex")
    done = run_ctl(c.port, "gss/orders")
    line = done.stdout
    equal(line.count("\n"), 1, "one line")
    expect("\t" not in line and line.isascii(), "no tabs, ASCII only")
    # COPY text format halves the backslashes again
    value = json.loads(line.rstrip("\n").replace("\\\\", "\\"))
    equal((value["orders"][0]["packingslipno"], value["orders"][0]["consignee"]),
          ("Q\\1\t", "Zoë \"Z\"\nline"), "round trip through COPY escaping")
    done = run_ctl(c.port, "--plain", "health")
    equal(json.loads(done.stdout), {"ok": True}, "plain")
    done = run_ctl(c.port, "no/such")
    equal(done.returncode, 1, "error answer")
    expect("404" in done.stderr, "message on stderr")
    done = subprocess.run([sys.executable, os.path.join(HERE, "ctl.py"), "--port", "1",
                           "health"], capture_output=True, text=True, timeout=60)
    equal(done.returncode, 2, "unreachable")
    expect("not reachable" in done.stderr, "unreachable message")
    done = run_ctl(c.port, "journal?path=/v2")
    equal(done.stdout, '{"entries":[]}\n', "GET with a query")


# ---------------------------------------------------------------------------------------------

def main():
    verbose = "-v" in sys.argv[1:]
    passed = failed = 0
    with tempfile.TemporaryDirectory() as scratch:
        port_file = os.path.join(scratch, "port")
        process, port = start_sandbox(port_file)
        client = Client(port)
        try:
            first_line = process.stdout.readline().decode().strip()
            if first_line == "sandbox listening on 127.0.0.1:%d" % port:
                passed += 1
            else:
                failed += 1
                print("FAIL startup line: %r" % first_line)
            for function in TESTS:
                try:
                    client.ctl("reset", {})
                    function(client)
                    passed += 1
                    if verbose:
                        print("ok   %s" % function.__name__)
                except Exception as error:  # noqa: BLE001 (report and go on)
                    failed += 1
                    print("FAIL %s: %s: %s" % (function.__name__, type(error).__name__, error))
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                code = process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                code = None
        stderr = process.stderr.read().decode()
        if code == 0 and not os.path.exists(port_file) and not stderr.strip():
            passed += 1
            if verbose:
                print("ok   clean SIGTERM exit")
        else:
            failed += 1
            print("FAIL clean SIGTERM exit: code %r, port file left: %s, stderr: %r"
                  % (code, os.path.exists(port_file), stderr[-2000:]))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
