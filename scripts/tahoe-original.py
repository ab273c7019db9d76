#!/usr/bin/env python3
"""Runs the original Python 2 tahoe_stats munin plugin under Python 3, with
its Python 2 behaviour, to compare munin-rs's tahoe-stats against it.

usage: tahoe-original.py ORIGINAL GRAPH [config]   (statsfile from the environment)

ORIGINAL is a local copy of the last pickle-reading tahoe_stats (tahoe-lafs
git blob bd03aaea, e.g. `git show bd03aaea > /tmp/tahoe_stats.orig` in a
tahoe-lafs clone). It is never part of this repository. At run time its
`print` statements become calls, and pickle.load reads Python 2 strings the
way Python 2 did (one character per byte) and prints floats with Python 2's
str() (12 significant digits). Nothing else is changed.
"""

import pickle
import re
import sys


class Py2Float(float):
    """A float whose str() is Python 2's."""

    def __str__(self):
        r = "%.12g" % self
        if r.lstrip("-").isdigit():
            r += ".0"
        return r


def py2ify(v):
    if isinstance(v, float):
        return Py2Float(v)
    if isinstance(v, dict):
        return {py2ify(k): py2ify(x) for k, x in v.items()}
    if isinstance(v, list):
        return [py2ify(x) for x in v]
    return v


def main():
    original, graph = sys.argv[1], sys.argv[2]
    with open(original) as f:
        source = f.read()
    # `print X` (statement) -> `print(X)` (call); the plugin has no other py2-only syntax.
    source = re.sub(r"^(\s*)print (.+)$", r"\1print(\2)", source, flags=re.M)
    real_load = pickle.load
    pickle.load = lambda f: py2ify(real_load(f, encoding="latin1"))
    sys.argv = [graph] + sys.argv[3:]
    code = compile(source, original, "exec")
    exec(code, {"__name__": "__main__"})


if __name__ == "__main__":
    main()
