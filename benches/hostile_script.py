#!/usr/bin/env python3
"""An unrelated record type's latency while a hostile rule condition is saved (issue #10).

Against a running server (e.g. `ALLOT_ADMIN_TOKEN=t target/release/allot serve --bind
127.0.0.1:18090 --data /tmp/h`): configures a normal record type (`lead`: one seller, a
catch-all segment, a round-robin rule) and a hostile one (`hostile`: a catch-all segment
whose rule condition is, by --mode,
  failing  a loop that never ends (hits the operation budget on every record),
  slow     a loop that stays just inside the budget, then answers true,
  none     no hostile traffic at all (the baseline)),
then, while one client posts 200-record hostile batches without waiting, measures
single-record `POST /records?wait=true` ingests of leads and `GET /healthz`, one at a
time, for --seconds. Prints p50/p95/p99/max of both and the script-suspension metrics.

  python3 benches/hostile_script.py --url http://127.0.0.1:18090 --token t --mode failing

Standard library only.
"""

import argparse
import json
import threading
import time
import urllib.request

CONDITIONS = {
    "failing": "let i = 0; loop { i += 1; }",
    # Inside the 1M-operation budget and the 100 ms wall time (200,000 turns are not:
    # they hit a limit and the script is suspended like the failing one).
    "slow": "let i = 0; while i < 60000 { i += 1; } true",
}


def call(url, token, method, path, body=None, timeout=60):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data, method=method)
    req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            text = resp.read()
            status = resp.status
    except urllib.error.HTTPError as e:
        text = e.read()
        status = e.code
    return status, text, time.perf_counter() - started


def put(url, token, path, body):
    status, text, _ = call(url, token, "PUT", path, body)
    if status not in (200, 201):
        raise SystemExit(f"PUT {path}: {status} {text[:300]!r}")


def configure(url, token, mode):
    put(url, token, "/api/v1/sellers/h-s1", {"name": "Sam", "capacity": None})
    for rt, seg in (("lead", "h-normal"), ("hostile", "h-hostile")):
        put(url, token, f"/api/v1/segments/{seg}", {"name": seg, "record_type": rt, "priority": 1})
    put(url, token, "/api/v1/segments/h-normal/rules/rr", {
        "name": "rr", "priority": 1,
        "assign_to": {"type": "sellers", "match": "any"},
        "distribution": {"method": "round_robin", "use_capacity": False}})
    if mode in CONDITIONS:
        put(url, token, "/api/v1/segments/h-hostile/rules/bad", {
            "name": "bad", "priority": 1, "condition": CONDITIONS[mode],
            "assign_to": {"type": "sellers", "match": "any"},
            "distribution": {"method": "round_robin", "use_capacity": False}})


def percentiles(xs):
    xs = sorted(xs)
    pick = lambda q: xs[min(len(xs) - 1, int(q * len(xs)))]
    return f"p50 {pick(0.5)*1e3:.1f} ms, p95 {pick(0.95)*1e3:.1f}, p99 {pick(0.99)*1e3:.1f}, max {xs[-1]*1e3:.1f} (n={len(xs)})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--mode", choices=["failing", "slow", "none"], required=True)
    ap.add_argument("--seconds", type=float, default=20)
    a = ap.parse_args()
    configure(a.url, a.token, a.mode)
    stop = threading.Event()
    posted = [0]

    def hostile():
        n = 0
        while not stop.is_set():
            batch = [{"id": f"h-{a.mode}-{n + i}", "record_type": "hostile", "name": "x", "topic": "y",
                      "attributes": {}} for i in range(200)]
            n += 200
            status, _, _ = call(a.url, a.token, "POST", "/api/v1/records", {"records": batch}, timeout=600)
            if status == 202:
                posted[0] += 200

    t = None
    if a.mode != "none":
        t = threading.Thread(target=hostile, daemon=True)
        t.start()
        time.sleep(0.5)
    ingest, health = [], []
    until = time.perf_counter() + a.seconds
    i = 0
    while time.perf_counter() < until:
        status, text, took = call(a.url, a.token, "POST", "/api/v1/records?wait=true",
                                  {"id": f"l-{a.mode}-{time.time_ns()}-{i}", "record_type": "lead",
                                   "name": "n", "topic": "t", "attributes": {}})
        if status != 200 and status != 202:
            print(f"lead ingest answered {status}: {text[:200]!r}")
        ingest.append(took)
        status, _, took = call(a.url, a.token, "GET", "/healthz")
        health.append(took)
        i += 1
    stop.set()
    print(f"mode {a.mode}: hostile records posted {posted[0]} in {a.seconds:.0f} s")
    print(f"  lead POST /records?wait=true: {percentiles(ingest)}")
    print(f"  GET /healthz:                 {percentiles(health)}")
    _, text, _ = call(a.url, a.token, "GET", "/metrics")
    for line in text.decode().splitlines():
        if line.startswith("allot_script") and not line.startswith("#"):
            print(f"  {line}")


if __name__ == "__main__":
    main()
