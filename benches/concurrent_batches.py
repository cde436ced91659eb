#!/usr/bin/env python3
"""Resident memory of the server under concurrent large batches (issue #10, item 3).

Starts the given `allot` binary on a temporary data directory, configures one catch-all
lead segment with a round-robin rule and one seller, then has --clients threads each
post --rounds batches of 1000 leads whose attributes fill the batch to --batch-mb MiB,
all at once. Samples the server's VmRSS every 20 ms and prints the peak (VmHWM), the
resident memory once every answer is in and again after --settle seconds, and the
answers by status (202 stored, 503 refused by admission control with Retry-After).

  python3 benches/concurrent_batches.py --server target/release/allot --clients 24

Standard library only.
"""

import argparse
import json
import os
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

TOKEN = "concurrent-batches-admin-token"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(url, method, path, body=None, timeout=300):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(url + path, data=data, method=method)
    req.add_header("Authorization", f"Bearer {TOKEN}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read(), {k.lower(): v for k, v in resp.headers.items()}
    except urllib.error.HTTPError as e:
        return e.code, e.read(), {k.lower(): v for k, v in e.headers.items()}


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def batch(client, rnd, batch_mb):
    # 1000 leads whose `notes` attribute fills the batch to about batch_mb MiB.
    per_record = int(batch_mb * (1 << 20) / 1000) - 200
    filler = "x" * max(per_record, 0)
    records = [
        {
            "id": f"c{client}-r{rnd}-{i}",
            "record_type": "lead",
            "name": f"Lead {i}",
            "attributes": {"country": "UK", "notes": filler},
        }
        for i in range(1000)
    ]
    return json.dumps({"records": records}).encode()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--server", required=True, help="path of the allot binary")
    p.add_argument("--clients", type=int, default=24)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--batch-mb", type=float, default=15.5)
    p.add_argument("--settle", type=float, default=5.0)
    p.add_argument("--retry", action="store_true", help="on 503, wait Retry-After and send again (as a client should)")
    p.add_argument("--extra", nargs="*", default=[], help="more options for `allot serve`")
    args = p.parse_args()

    data = tempfile.mkdtemp(prefix="allot-membench-")
    port = free_port()
    env = dict(os.environ, ALLOT_ADMIN_TOKEN=TOKEN, RUST_LOG="warn")
    proc = subprocess.Popen(
        [args.server, "serve", "--data", data, "--bind", f"127.0.0.1:{port}", *args.extra],
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if call(url, "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.05)
        for path, body in (
            ("/api/v1/sellers/m-s1", {"name": "Sam", "capacity": None}),
            ("/api/v1/segments/m-all", {"name": "all", "record_type": "lead", "priority": 1}),
            ("/api/v1/segments/m-all/rules/m-rr", {"name": "rr", "priority": 1, "assign_to": {"type": "sellers", "match": "any"}, "distribution": {"method": "round_robin"}}),
        ):
            status, text, _ = call(url, "PUT", path, body)
            if status not in (200, 201):
                raise SystemExit(f"PUT {path}: {status} {text[:300]!r}")

        bodies = [[batch(c, r, args.batch_mb) for r in range(args.rounds)] for c in range(args.clients)]
        base_rss = status_kib(proc.pid, "VmRSS")
        statuses = {}
        retry_after = set()
        lock = threading.Lock()
        done = threading.Event()
        samples = []

        def sampler():
            while not done.is_set():
                samples.append(status_kib(proc.pid, "VmRSS"))
                time.sleep(0.02)

        def client(c):
            for body in bodies[c]:
                while True:
                    status, _, headers = call(url, "POST", "/api/v1/records", body)
                    with lock:
                        statuses[status] = statuses.get(status, 0) + 1
                        if "retry-after" in headers:
                            retry_after.add(headers["retry-after"])
                    if status != 503 or not args.retry:
                        break
                    time.sleep(float(headers.get("retry-after", "1")))

        threading.Thread(target=sampler, daemon=True).start()
        started = time.perf_counter()
        threads = [threading.Thread(target=client, args=(c,)) for c in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        after = status_kib(proc.pid, "VmRSS")
        time.sleep(args.settle)
        settled = status_kib(proc.pid, "VmRSS")
        done.set()
        peak = status_kib(proc.pid, "VmHWM")
        _, summary, _ = call(url, "GET", "/api/v1/record-types/lead/summary")
        print(f"clients {args.clients} x rounds {args.rounds} x {args.batch_mb} MiB batches in {elapsed:.1f} s")
        print(f"answers by status: {dict(sorted(statuses.items()))}; Retry-After values: {sorted(retry_after)}")
        print(f"resident before: {base_rss / 1024:.0f} MiB; peak (VmHWM): {peak / 1024:.0f} MiB; "
              f"sampled max: {max(samples, default=0) / 1024:.0f} MiB")
        print(f"resident when all answered: {after / 1024:.0f} MiB; after {args.settle:.0f} s: {settled / 1024:.0f} MiB")
        print(f"lead summary: {summary.decode()}")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
