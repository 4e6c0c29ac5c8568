#!/usr/bin/env python3
"""summarize.py: Markdown tables from the benchmark scripts' raw measurements.

  summarize.py listing --timings T.tsv --memory M.tsv ...   (gss_listing.sh)
  summarize.py failures --memory M.tsv ...                  (memory_failures.sh)

Python 3 standard library only.
"""

import argparse
import datetime
import os
import platform
import statistics
import sys

LABELS = {
    "ours": "`SELECT count(*) FROM spotgo_gss.gss_customer_orders()` (HTTP + parse + rows)",
    "fdw": "foreign table: `SELECT count(*), max(consignee), max(city), count(products) FROM s.customer_orders`",
    "reference": "SQL reference: `pg_read_file` + `jsonb_to_recordset`, same columns (no transfer)",
    "curl": "floor: curl, the 100 pages over one connection",
    "json": "floor: `pg_read_file(...)::json` (validates only)",
}


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine_line(extra):
    return "%s; %d cores (%s); %s" % (
        datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), os.cpu_count() or 0,
        cpu_model(), "; ".join(extra))


def kb(v):
    return "%.1f MB" % (v / 1024.0)


def listing(args):
    times = {}
    rows = {}
    with open(args.timings) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 2 or not parts[1]:
                continue
            label, ms = parts[0], float(parts[1])
            times.setdefault(label, []).append(ms / 1000.0)
            if len(parts) > 2 and parts[2]:
                rows[label] = int(parts[2])
    out = []
    out.append("## GSS listing: %d pages x %d orders (%.1f MB) from nginx on loopback"
               % (args.pages, args.rows // args.pages, args.bytes / 1e6))
    out.append("")
    out.append(machine_line([args.pg, args.nginx, "median of %d runs" % args.runs,
                             "load average before the run %s" % args.load]))
    out.append("")
    out.append("| measurement | median | min | max | rows | rows/s | vs reference |")
    out.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    med = {k: statistics.median(v) for k, v in times.items()}
    ref = med.get("reference")

    def row(label, text, m, lo, hi, n):
        rate = n / m if m else 0
        vs = ("%.2fx" % (ref / m)) if ref and m else ""
        out.append("| %s | %.3f s | %s | %s | %s | %s | %s |" % (
            text, m, lo, hi, "{:,}".format(n), "{:,.0f}".format(rate), vs))

    for key in ("ours", "fdw", "reference", "curl", "json"):
        if key not in times:
            if key == "fdw":
                continue
            if key == "ours":
                out.append("| %s | not measured: the extension is not ready | | | | | |"
                           % LABELS[key])
            continue
        v = times[key]
        row(key, LABELS[key], med[key], "%.3f s" % min(v), "%.3f s" % max(v),
            rows.get(key, args.rows))
    if "curl" in med and "json" in med:
        row("floors", "floors together (curl + json)", med["curl"] + med["json"],
            "", "", args.rows)
    out.append("")
    out.append("Every timed run, in order (s): " + "; ".join(
        "%s %s" % (k, " ".join("%.3f" % x for x in times[k]))
        for k in ("ours", "fdw", "reference", "curl", "json") if k in times) + ".")
    out.append("")
    if "ours" in med and ref:
        ratio = ref / med["ours"]
        out.append("Rows/s, ours / SQL reference: **%.2fx** (target at least 3x): %s."
                   % (ratio, "met" if ratio >= 3 else "NOT met"))
        if "curl" in med and "json" in med:
            out.append("Ours / floors together: %.2fx the floors' time."
                       % (med["ours"] / (med["curl"] + med["json"])))
        out.append("")
    if "fdw" in med and ref:
        ratio = ref / med["fdw"]
        out.append("Rows/s, foreign table / SQL reference: **%.2fx** (target at least 3x, stretch 4x): %s."
                   % (ratio, "met" if ratio >= 3 else "NOT met"))
        out.append("")
    mem = []
    if args.memory and os.path.exists(args.memory):
        with open(args.memory) as f:
            for line in f:
                fields = line.rstrip("\n").split("\t")
                # [label,] pages, "hwm0 rss0 count hwm1 rss1"
                label = fields[0] if len(fields) == 3 else "ours"
                pages, rest = fields[-2], fields[-1]
                vals = rest.split()
                if len(vals) >= 5:
                    mem.append((label, int(pages), int(vals[2]), int(vals[0]), int(vals[1]),
                                int(vals[3]), int(vals[4])))
    if mem:
        out.append("### Backend memory, one fresh backend per line")
        out.append("")
        out.append("| query | pages | rows | VmHWM before | VmHWM after | peak growth | VmRSS after |")
        out.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for label, pages, n, h0, r0, h1, r1 in mem:
            out.append("| %s | %d | %s | %s | %s | **%s** | %s |" % (
                "foreign table" if label == "fdw" else "gss_customer_orders()",
                pages, "{:,}".format(n), kb(h0), kb(h1), kb(h1 - h0), kb(r1)))
        out.append("")
        for label in ("ours", "fdw"):
            sub = [m for m in mem if m[0] == label]
            if not sub:
                continue
            big = max(sub, key=lambda m: m[2])
            small = min(sub, key=lambda m: m[2])
            g_big = big[5] - big[3]
            g_small = small[5] - small[3]
            out.append("%s: peak growth over %s rows: %s (target under 20 MB): %s; "
                       "%d pages vs %d pages: %+.1f MB (flat means it does not grow with page count)."
                       % ("Foreign table" if label == "fdw" else "gss_customer_orders()",
                          "{:,}".format(big[2]), kb(g_big), "met" if g_big < 20 * 1024 else "NOT met",
                          big[1], small[1], (g_big - g_small) / 1024.0))
            out.append("")
    elif "ours" not in med:
        out.append("Memory: not measured (the extension is not ready).")
        out.append("")
    print("\n".join(out))


def failures(args):
    out = []
    out.append("## Memory across failing calls: one backend, %d calls per scenario" % args.calls)
    out.append("")
    out.append(machine_line([args.pg]))
    out.append("")
    out.append("| scenario | failed calls | error seen | VmRSS after %d | VmRSS after %d | growth |"
               % (args.first, args.calls))
    out.append("| --- | ---: | --- | ---: | ---: | ---: |")
    worst = 0
    with open(args.memory) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 5:
                continue
            name, failed, err, r1, r2 = parts[:5]
            g = int(r2) - int(r1)
            worst = max(worst, g)
            out.append("| %s | %s | %s | %s | %s | **%+d kB** |" % (
                name, failed, err, kb(int(r1)), kb(int(r2)), g))
    out.append("")
    out.append("Largest growth between call %d and call %d: %+d kB (target under 1 MB): %s."
               % (args.first, args.calls, worst, "met" if worst < 1024 else "NOT met"))
    print("\n".join(out))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("listing")
    a.add_argument("--timings", required=True)
    a.add_argument("--memory")
    a.add_argument("--runs", type=int, required=True)
    a.add_argument("--rows", type=int, required=True)
    a.add_argument("--pages", type=int, required=True)
    a.add_argument("--bytes", type=int, required=True)
    a.add_argument("--ours", type=int, default=1)
    a.add_argument("--pg", default="")
    a.add_argument("--nginx", default="")
    a.add_argument("--load", default="?")
    b = sub.add_parser("failures")
    b.add_argument("--memory", required=True)
    b.add_argument("--calls", type=int, required=True)
    b.add_argument("--first", type=int, required=True)
    b.add_argument("--pg", default="")
    args = ap.parse_args()
    if args.cmd == "listing":
        listing(args)
    else:
        failures(args)


if __name__ == "__main__":
    sys.exit(main())
