"""Reference for the stats-gatherer benchmark: the original gatherer's work
on the original's stack (Python, Twisted), measured against the same
simulated providers in the same run.

The original PickleStatsGatherer polled over foolscap, which Tahoe 1.20 no
longer serves, so the poll is done the way a Twisted program polls HTTP
(treq, persistent connections, at most 256 in flight, like ours). Its
snapshot write is the original's: pickle.dump() protocol 0 to a temporary
file, unlink, rename, and the original did that after every reply.

Usage: python gatherer-reference.py URLS_FILE ROUNDS OUT_DIR
(run with the Python of the Tahoe virtualenv: scripts/tahoe-venv.sh)
Prints one JSON object of timings in seconds.
"""
import json
import os
import pickle
import statistics
import sys
import time

import treq
from twisted.internet import defer, reactor
from twisted.web.client import HTTPConnectionPool


def write_protocol0(data, path):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        pickle.dump(data, f, 0)
    if os.path.exists(path):
        os.unlink(path)
    os.rename(tmp, path)


@defer.inlineCallbacks
def main(urls, rounds, out_dir):
    pool = HTTPConnectionPool(reactor, persistent=True)
    pool.maxPersistentPerHost = 1
    sem = defer.DeferredSemaphore(256)
    snapshot = {}
    failures = 0

    @defer.inlineCallbacks
    def poll(i, url):
        nonlocal failures
        try:
            resp = yield treq.get(url, pool=pool, timeout=10)
            body = yield resp.content()
            stats = json.loads(body)
            snapshot["node%05d" % i] = {
                "timestamp": time.time(),
                "nickname": "sim%d" % i,
                "stats": stats,
            }
        except Exception:
            failures += 1

    round_times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        yield defer.DeferredList(
            [sem.run(poll, i, u) for i, u in enumerate(urls)], consumeErrors=True
        )
        round_times.append(time.perf_counter() - t0)
    path = os.path.join(out_dir, "stats.pickle")
    write_times = []
    for _ in range(5):
        t0 = time.perf_counter()
        write_protocol0(snapshot, path)
        write_times.append(time.perf_counter() - t0)
    print(json.dumps({
        "nodes": len(snapshot),
        "failures": failures,
        "poll_round_first": round_times[0],
        "poll_round_median_steady": statistics.median(round_times[1:] or round_times),
        "snapshot_write_median": statistics.median(write_times),
        "snapshot_bytes": os.path.getsize(path),
    }))
    yield pool.closeCachedConnections()


def run():
    urls = [l.strip() for l in open(sys.argv[1]) if l.strip()]
    rounds = int(sys.argv[2])
    out_dir = sys.argv[3]
    d = main(urls, rounds, out_dir)
    d.addErrback(lambda f: (f.printTraceback(), None))
    d.addBoth(lambda _: reactor.stop())
    reactor.run()


if __name__ == "__main__":
    run()
