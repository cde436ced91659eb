#!/usr/bin/env python3
"""Configuration writes per second through the HTTP API, and the group-commit batch
sizes the server saw (from /metrics).

    python3 benches/config_writes.py --url http://127.0.0.1:8080 --token T [--clients 16] [--seconds 5]

Each client keeps one connection and PUTs sellers (upserts) as fast as the server
answers; every answer is a durable commit.
"""
import argparse
import http.client
import json
import threading
import time
import urllib.parse


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", default="http://127.0.0.1:8080")
    p.add_argument("--token", required=True)
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--seconds", type=float, default=5.0)
    a = p.parse_args()
    u = urllib.parse.urlparse(a.url)
    headers = {"Authorization": f"Bearer {a.token}", "Content-Type": "application/json"}
    counts = [0] * a.clients
    errors = [0] * a.clients
    stop = time.monotonic() + a.seconds

    def client(k):
        conn = http.client.HTTPConnection(u.hostname, u.port)
        i = 0
        while time.monotonic() < stop:
            body = json.dumps({"name": f"Bench {k}-{i}", "capacity": 10, "attributes": {"k": k}})
            conn.request("PUT", f"/api/v1/sellers/bench-{k}-{i % 50}", body, headers)
            r = conn.getresponse()
            r.read()
            if r.status in (200, 201):
                counts[k] += 1
            else:
                errors[k] += 1
            i += 1

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(a.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    total = sum(counts)
    print(f"{total} config writes in {elapsed:.2f} s with {a.clients} clients: {total / elapsed:.0f} writes/s, {sum(errors)} errors")
    conn = http.client.HTTPConnection(u.hostname, u.port)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    for line in text.splitlines():
        if line.startswith("allot_store_commit_batch_jobs") or line.startswith("allot_store_commits_total") or line.startswith("allot_store_jobs_total"):
            print(line)


if __name__ == "__main__":
    main()
