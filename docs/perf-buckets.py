#!/usr/bin/env python3
"""Sort the server's CPU samples into cost buckets, per thread.

Reads the text of `perf script -F comm,tid,ip,sym` of a `perf record --call-graph dwarf`
profile of the allot server (see docs/perf-notes.md for the commands) and prints, per
thread and for the whole server, the share of samples in each bucket. A sample goes to
the first bucket whose pattern matches any frame of its stack (and whose context
pattern, when given, matches too), so the order of RULES matters: specific first.

    perf script -i perf.data -F comm,tid,ip,sym > perf.txt
    python3 docs/perf-buckets.py perf.txt
"""

import collections
import re
import sys

RULES = [
    # the store writer thread (allot-writer)
    ("store: commit, fdatasync (kernel)", r"fsync|fdatasync|sync_data|sync_all", r"WriteTransaction::commit"),
    ("store: commit, rest (page flush, checksums, freed pages)", r"WriteTransaction::commit", None),
    ("store: JSON encode of records", r"StoredRecord>::serialize|to_vec<allot::domain::record::StoredRecord>",
     r"RecordWriter::put"),
    ("store: history rows (JSON, B-tree, 3 index keys each)", r"store::history::append", None),
    ("store: monitor-view index and counts", r"insert<&\[u8\], &str|remove<&\[u8\]|index_keys|RecordWriter::finish",
     r"RecordWriter::put|RecordWriter::finish"),
    ("store: records table B-tree insert", r"RecordWriter::put", None),
    ("store: read the old record in the write txn (get + JSON decode)", r"RecordWriter::get", None),
    ("store: freeing the job after the commit", r"drop_in_place<allot::store::writer", None),
    ("store: other writer work (merge, seq, counters, history clone)", r"allot::store::writer::run|write_batch", None),
    # the seller-capacity actor (allot-sellers)
    ("actor: read records back + JSON decode", r"read_record", None),
    ("actor: rhai conditions (segments, rules, seller memo)", r"rhai::|Bindings|record_map|scripting::",
     r"engine::process"),
    ("actor: assignment (candidates, round robin, load balancing)", r"assign_seller|rr_key|SellerBook",
     r"engine::process"),
    ("actor: engine, other", r"engine::process", None),
    ("actor: ingest handler (merge, status views of the answer)",
     r"records::\{impl#1\}::handle|SellerCapacityActor::views|status_view", None),
    ("actor: process_batch, other (history entries, clones)", r"process_batch", None),
    # the HTTP workers (allot-http)
    ("http: JSON parse of the request body",
     r"parse_json|strict::|from_value|serde_path_to_error|parse_ingest_body|RecordInput", None),
    ("http: JSON encode of the answer", r"serde_json::ser|Serialize|HttpResponseBuilder::json|to_vec", None),
    ("actix runtime, sockets, other", r"actix|mio|tokio|h1", None),
]


def load(path):
    samples, cur = [], None
    for line in open(path, errors="replace"):
        if not line.strip():
            if cur:
                samples.append(cur)
            cur = None
        elif not line.startswith("\t"):
            parts = line.split()
            cur = (parts[-1], " ".join(parts[:-1]), [])
        else:
            frame = line.strip().split(" ", 1)
            if cur and len(frame) == 2:
                cur[2].append(frame[1])
    if cur:
        samples.append(cur)
    return samples


def bucket(frames):
    for name, pattern, context in RULES:
        if any(re.search(pattern, f) for f in frames) and (
            context is None or any(re.search(context, f) for f in frames)
        ):
            return name
    return "other"


def main():
    samples = load(sys.argv[1])
    total = len(samples)
    overall = collections.Counter()
    per_thread = collections.defaultdict(collections.Counter)
    for tid, comm, frames in samples:
        b = bucket(frames)
        overall[b] += 1
        per_thread[(comm, tid)][b] += 1
    print(f"{total} samples")
    for (comm, tid), counts in sorted(per_thread.items(), key=lambda kv: -sum(kv[1].values())):
        n = sum(counts.values())
        print(f"{comm} ({tid}): {100 * n / total:.1f} % of the server's samples")
        for name, c in counts.most_common():
            print(f"  {100 * c / total:5.1f} %  {name}")
    print("whole server:")
    for name, c in overall.most_common():
        print(f"  {100 * c / total:5.1f} %  {name}")


if __name__ == "__main__":
    main()
