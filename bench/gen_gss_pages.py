#!/usr/bin/env python3
"""gen_gss_pages.py: deterministic GoSweetSpot customer-order pages for the benchmark.

Writes OUT/pages/page1.json .. pageN.json, each one response of
GET /api/customerorders?page=K&pagesize=M as ../test/sandbox imitates it and
/work/shared/api/gss.md documents it: {"Page", "PageSize", "Pages", "Results"}
with GSS's own mixed key casing (Page, Results, rawAddress, Status, Picked next
to ticketnumber), a status object on most orders and null on some, 1-3
products and 0-2 packages per order, numbers with GSS's many decimals, some
non-ASCII place names and escaped characters. About 810 bytes per order.

With --mem, also writes OUT/mem/page1.json .. pageN.json: the same Results,
but the header says Pages = N * --mem-repeat and Page is an nginx SSI echo of
the request's page argument, so that nginx can serve page K of a much longer
listing from file ((K-1) % N) + 1 with a correct header (bench/lib.sh).

Python 3 standard library only; the same seed always gives the same bytes.
"""

import argparse
import json
import os
import random
import sys

STREETS = ["Queen Street", "Karangahape Road", "Cuba Street", "Colombo Street",
           "George Street", "Ponsonby Road", "Lambton Quay", "Dominion Road",
           "Great North Road", "Tory Street", "Victoria Street West",
           "Te Irirangi Drive", "Manukau Road", "Riccarton Road"]
PLACES = [  # (suburb, city, postcode)
    ("Grey Lynn", "Auckland", "1021"), ("Ponsonby", "Auckland", "1011"),
    ("Te Aro", "Wellington", "6011"), ("Riccarton", "Christchurch", "8041"),
    ("Dunedin Central", "Dunedin", "9016"), ("Frankton", "Hamilton", "3204"),
    ("Mount Maunganui", "Tauranga", "3116"), ("Ōtaki", "Ōtaki", "5512"),
    ("Kensington", "Whangārei", "0112"), ("Taradale", "Napier", "4112"),
    ("Stoke", "Nelson", "7011"), ("Glenorchy", "Queenstown", "9372"),
    ("Paraparaumu", "Kāpiti Coast", "5032"), ("Epsom", "Auckland", "1023")]
FIRST = ["Aroha", "James", "Mere", "Olivia", "Wiremu", "Sophie", "Liam",
         "Ngaio", "Charlotte", "Hemi", "Isla", "Noah", "Anahera", "Jack",
         "Zoë", "Mateo"]
LAST = ["Smith", "Ngata", "Williams", "Brown", "Te Whiu", "Wilson", "Taylor",
        "O'Connor", "Parata", "Martin", "Anderson", "Walker", "Tūhoe", "Lee"]
COMPANIES = ["", "", "", "Kiwi Outdoor Ltd", "Harbour Cafe", "Southern \"Best\" Supplies",
             "Aotearoa Books", "Pacific Parts & Co"]
INSTRUCTIONS = [None, None, None, None, "Leave at front door", "ATL", "Ring bell twice",
                "Behind the gate,\nnot in letterbox", "Call on arrival",
                "Deliver to reception (level 2)"]
PRODUCTS = [("WGT-BLU-01", "Blue widget"), ("WGT-RED-02", "Red widget"),
            ("TSH-M-BLK", "T-shirt M black"), ("MUG-CER-01", "Ceramic mug"),
            ("BK-0451", "Paperback book"), ("CBL-USB-C", "USB-C cable 1m"),
            ("SOC-WOOL-L", "Wool socks L"), ("CAP-KIWI", "Kiwi cap"),
            ("TEA-250G", "Kawakawa tea 250g"), ("CND-SOY", "Soy candle")]
STOCK = [("Satchel Small", 0.5, 26, 20, 4), ("Satchel Medium", 1.2, 33, 28, 6),
         ("Box Small", 2.0, 20, 20, 15), ("Box Large", 5.5, 45, 35, 30),
         ("--Custom--", 3.1, 40, 30, 10)]
STATUSES = ["PENDING", "PICKED", "PICKED", "DELIVERED", "DELIVERED", "DELIVERED",
            "INTRANSIT"]


class Raw(str):
    """Text emitted verbatim, e.g. a number with GSS's trailing decimals."""


def enc(value, out):
    """Serialize value into the list of strings out, compactly, like ASP.NET."""
    if isinstance(value, Raw):
        out.append(value)
    elif isinstance(value, dict):
        out.append("{")
        first = True
        for key, item in value.items():
            if not first:
                out.append(",")
            first = False
            out.append(json.dumps(key, ensure_ascii=False))
            out.append(":")
            enc(item, out)
        out.append("}")
    elif isinstance(value, list):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            enc(item, out)
        out.append("]")
    else:
        out.append(json.dumps(value, ensure_ascii=False))


def dec(x, places=8):
    return Raw("%.*f" % (places, x))


def stamp(rnd, fraction):
    s = "2024-%02d-%02dT%02d:%02d:%02d" % (rnd.randint(1, 12), rnd.randint(1, 28),
                                         rnd.randint(0, 23), rnd.randint(0, 59),
                                         rnd.randint(0, 59))
    if fraction:
        s += ".%d" % rnd.randint(1, 999)
    return s


def rural(rnd):
    # Documented as strings, null in every example: send all the shapes.
    return rnd.choice([None, None, None, None, "false", "true", False, True])


def order(rnd, n):
    first, last = rnd.choice(FIRST), rnd.choice(LAST)
    name = "%s %s" % (first, last)
    company = rnd.choice(COMPANIES)
    suburb, city, postcode = rnd.choice(PLACES)
    street = "%d %s" % (rnd.randint(1, 400), rnd.choice(STREETS))
    unit = rnd.choice(["", "", "", "Unit %d" % rnd.randint(1, 40), "Level %d" % rnd.randint(1, 9)])
    consignee = company or name
    o = {
        "packingslipno": "SS%07d" % n,
        "consignee": consignee,
        "address1": street,
        "address2": unit,
        "suburb": suburb,
        "city": city,
        "postcode": postcode,
        "country": "NZ",
        "delvref": "ORD-%06d" % rnd.randint(1, 999999),
        "delvinstructions": rnd.choice(INSTRUCTIONS),
        "contactname": name,
        "contactphone": "0%d %03d %04d" % (rnd.choice([21, 22, 27, 9, 4, 3]),
                                           rnd.randint(100, 999), rnd.randint(0, 9999)),
        "email": "%s.%s@example.nz" % (first.lower(), last.lower().replace(" ", "").replace("'", "")),
        "isrural": rural(rnd),
        "notrural": rural(rnd),
        "costcentre": rnd.choice([None, "Online", "Retail", "Wholesale"]),
        "customField1Value": rnd.choice([None, None, "gift", "priority"]),
        "customField2Value": None,
    }
    o["rawAddress"] = ("\n".join(x for x in (consignee, unit, street, suburb,
                                             "%s %s" % (city, postcode)) if x)
                       if rnd.random() < 0.2 else None)
    if rnd.random() < 0.85:
        st = rnd.choice(STATUSES)
        ticket = None if st == "PENDING" else "%s%08d" % (rnd.choice(["NZP", "CPO", "ABC"]), rnd.randint(0, 99999999))
        o["status"] = {
            "Status": st,
            "ticketnumber": ticket,
            "trackingurl": ("https://gss.nz/t/%s" % ticket) if ticket else None,
            "Picked": None if st == "PENDING" else stamp(rnd, rnd.random() < 0.3),
            "Delivered": stamp(rnd, False) if st == "DELIVERED" else None,
            "manualticket": rnd.random() < 0.1,
        }
    else:
        o["status"] = None
    products = []
    for _ in range(rnd.choice([1] * 7 + [2, 3])):
        code, desc = rnd.choice(PRODUCTS)
        units = rnd.randint(1, 4)
        value = rnd.randint(300, 9900) / 100.0
        products.append({
            "productcode": code,
            "description": desc,
            "units": dec(units),
            "unitvalue": dec(value),
        })
    o["products"] = products
    packages = []
    for _ in range(rnd.choice([0] * 4 + [1] * 5 + [2])):
        stock, kg, l, w, h = rnd.choice(STOCK)
        pkg = {"packageStockName": stock, "quantity": 1, "weightKg": dec(kg, 2)}
        if stock == "--Custom--":  # named stock takes its dimensions from GSS
            pkg.update({"lengthCm": l, "widthCm": w, "heightCm": h})
        packages.append(pkg)
    o["packages"] = packages
    return o


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--pages", type=int, default=100)
    ap.add_argument("--page-size", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--mem", action="store_true",
                    help="also write mem/pageK.json with an SSI Page header")
    ap.add_argument("--mem-repeat", type=int, default=10)
    args = ap.parse_args()

    rnd = random.Random(args.seed)
    pages_dir = os.path.join(args.out, "pages")
    mem_dir = os.path.join(args.out, "mem")
    os.makedirs(pages_dir, exist_ok=True)
    if args.mem:
        os.makedirs(mem_dir, exist_ok=True)
    total = 0
    n = 0
    for page in range(1, args.pages + 1):
        out = []
        results = []
        for _ in range(args.page_size):
            n += 1
            results.append(order(rnd, n))
        enc(results, out)
        body = "".join(out)
        head = '{"Page":%d,"PageSize":%d,"Pages":%d,"Results":' % (
            page, args.page_size, args.pages)
        data = (head + body + "}").encode("utf-8")
        total += len(data)
        with open(os.path.join(pages_dir, "page%d.json" % page), "wb") as f:
            f.write(data)
        if args.mem:
            head = ('{"Page":<!--# echo var="arg_page" encoding="none" -->,'
                    '"PageSize":%d,"Pages":%d,"Results":' % (
                        args.page_size, args.pages * args.mem_repeat))
            with open(os.path.join(mem_dir, "page%d.json" % page), "wb") as f:
                f.write((head + body + "}").encode("utf-8"))
    sys.stderr.write("wrote %d pages, %d orders, %d bytes (%.0f bytes/order) to %s\n"
                     % (args.pages, n, total, total / max(n, 1), pages_dir))


if __name__ == "__main__":
    main()
