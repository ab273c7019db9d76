#!/usr/bin/env python3
"""Medians of benchmark runs: reads lines `SIZE LABEL WALL USER SYS` (as the
bench-master scripts record them) and prints, per size and label, the
median wall time (with its range) and the median CPU (user + sys)."""
import collections
import statistics
import sys

rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    n, label, wall, user, system = line.split()
    rows[(int(n), label)].append((float(wall), float(user) + float(system)))
for (n, label), v in sorted(rows.items()):
    walls = [w for w, _ in v]
    cpu = statistics.median(c for _, c in v)
    print(f"{n:>5} {label:32} wall {statistics.median(walls):7.2f} "
          f"({min(walls):.2f}-{max(walls):.2f})  cpu {cpu:7.2f}  runs {len(v)}")
