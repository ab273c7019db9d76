#!/usr/bin/env python3
"""Medians of benchmark runs: reads lines `SIZE LABEL WALL USER SYS [MAXRSS_KB]`
(as the bench-master scripts record them) and prints, per size and label, the
median wall time (with its range), the median CPU (user + sys) and the
median peak RSS of the largest process; then, per size, the ratios of
paired labels run by run (the i-th run of one against the i-th of the
other, as the scripts alternate them): munin-update's time over ours, and
ours over the bare librrd floor; for bench-html.sh, Munin's first render
(munin-html + munin-graph) over ours, and ours over the bare graph floor."""
import collections
import statistics
import sys

rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    n, label, wall, user, system, *rest = line.split()
    rss = float(rest[0]) / 1024 if rest else None
    rows[(int(n), label)].append((float(wall), float(user) + float(system), rss))
for (n, label), v in sorted(rows.items()):
    walls = [w for w, _, _ in v]
    cpu = statistics.median(c for _, c, _ in v)
    rss = [r for _, _, r in v if r is not None]
    mem = f"  rss {statistics.median(rss):7.1f} MB" if rss else ""
    print(f"{n:>5} {label:36} wall {statistics.median(walls):7.2f} "
          f"({min(walls):.2f}-{max(walls):.2f})  cpu {cpu:7.2f}{mem}  runs {len(v)}")

# (slower, faster): ratio slower/faster per run.
pairs = [
    ("first:munin-update", "first:munin-master"),
    ("steady:munin-update", "steady:munin-master"),
    ("first:munin-update+rrdcached", "first:munin-master+rrdcached"),
    ("steady:munin-update+rrdcached", "steady:munin-master+rrdcached"),
]
sizes = sorted({n for n, _ in rows})
for n in sizes:
    floors = [label for (m, label) in rows if m == n and "librrd-floor" in label]
    for slow, fast in pairs + [("steady:munin-master", f) for f in floors]:
        a, b = rows.get((n, slow)), rows.get((n, fast))
        if not a or not b:
            continue
        ratios = [x[0] / y[0] for x, y in zip(a, b) if y[0] > 0]
        if not ratios:
            continue
        print(f"{n:>5} {slow} / {fast}: median {statistics.median(ratios):.2f}x "
              f"(runs: {', '.join(f'{r:.2f}' for r in ratios)})")

# bench-html.sh: Munin's first render is munin-html then munin-graph, run
# by run; ours against both, and against librrd's bare graph cost.
for n in sizes:
    html, graph = rows.get((n, "first:munin-html")), rows.get((n, "first:munin-graph"))
    ours = rows.get((n, "first:munin-master-html"))
    if html and graph and ours:
        ratios = [(h[0] + g[0]) / o[0] for h, g, o in zip(html, graph, ours) if o[0] > 0]
        print(f"{n:>5} first:munin-html+munin-graph / first:munin-master-html: median "
              f"{statistics.median(ratios):.2f}x (runs: {', '.join(f'{r:.2f}' for r in ratios)})")
    for (m, label), floor in sorted(rows.items()):
        if m != n or "librrd-graph-floor" not in label or not ours:
            continue
        ratios = [o[0] / f[0] for o, f in zip(ours, floor) if f[0] > 0]
        print(f"{n:>5} first:munin-master-html / {label}: median "
              f"{statistics.median(ratios):.2f}x (runs: {', '.join(f'{r:.2f}' for r in ratios)})")
