#!/usr/bin/env python3
"""The bare librrd cost of a site's graphs, for bench-html.sh: reads what
the graph workers of `munin-master html` read (`strace -ff -xx -s ...
-e trace=read -o PREFIX`: a file per process, each worker's reads of its
stdin in order) and prints one `graphv PNG ARGS...` line per graph for
`rrdtool -`, each image in OUTDIR instead of the site.

Usage: graph-floor.py OUTDIR STRACE_FILES... > lines

`rrdtool -` splits a line on spaces outside quotes, and either quote
character starts one: each argument is quoted with the one it does not
hold. A graph whose arguments hold both is left out and counted on
stderr (none in munin-fleet's graphs).
"""
import json
import re
import sys

READ = re.compile(r'^read\(0, "((?:\\x[0-9a-f]{2})*)"(?:\.\.\.)?, \d+\) = (\d+)')


def stdin_of(log):
    """What one process read from its stdin, in order."""
    out = bytearray()
    for line in open(log, encoding="ascii", errors="replace"):
        m = READ.match(line)
        if m:
            out.extend(bytes.fromhex(m.group(1).replace("\\x", ""))[:int(m.group(2))])
    return bytes(out)


def quoted(arg):
    for q in ("'", '"'):
        if q not in arg:
            return q + arg + q
    return None


def main():
    outdir, logs = sys.argv[1], sys.argv[2:]
    n = skipped = 0
    for log in logs:
        for raw in stdin_of(log).split(b"\n"):
            if not raw.startswith(b'{"Draw"'):
                continue
            for draw in json.loads(raw)["Draw"]:
                n += 1
                args = ["graphv", f"{outdir}/{n}.png"] + draw["args"]
                words = [quoted(a) for a in args]
                if None in words:
                    skipped += 1
                    continue
                print(" ".join(words))
    print(f"graph-floor: {n} graphs, {skipped} left out", file=sys.stderr)


main()
