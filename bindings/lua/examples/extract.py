#!/usr/bin/env python3
"""The examples printed in the seed documents, as files the tests run.

    extract.py <seeds-dir>            write bindings/lua/examples/<module>/NN.lua
    extract.py --check <seeds-dir>    check the files still match the documents

Every fenced code block marked ```lua (and the unmarked Lua block of the
NodeMCU page) becomes examples/<module>/<NN>.lua, byte for byte. The tests
(tests/<module>/test_examples.lua) run them unmodified; --check (run by
scripts/test-lua.sh when the seeds are at hand) proves they are the
documents' text.
"""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))
from seed_examples import arguments, sync  # noqa: E402  (bindings/seed_examples.py)

SEEDS = {
    "nodemcu": "001_9c2a1d0a72ad847a.txt",
    "luatos": "003_222e37a0afb9c6f7.txt",
    "luartos": "000_5cbf7ab0585cbd66.txt",
}
FENCE = re.compile(r"^```\s*([^\s`]*)\s*$")


def blocks(text):
    """(language, code) of each fenced block, in order."""
    out, lang, lines = [], None, []
    for line in text.splitlines(keepends=True):
        m = FENCE.match(line.rstrip("\n"))
        if lang is None:
            if m:
                lang, lines = m.group(1), []
        elif m and m.group(1) == "":
            out.append((lang, "".join(lines)))
            lang = None
        else:
            lines.append(line)
    return out


def lua_blocks(module, text):
    for lang, code in blocks(text):
        if lang == "lua" or (lang == "" and module == "nodemcu"):
            yield code


def main(argv):
    parsed = arguments(argv, __doc__)
    if parsed is None:
        return 2
    check, seeds = parsed
    bad = 0
    for module, name in SEEDS.items():
        with open(os.path.join(seeds, name), encoding="utf-8") as f:
            text = f.read()
        outdir = os.path.join(HERE, module)
        os.makedirs(outdir, exist_ok=True)
        for i, code in enumerate(lua_blocks(module, text), 1):
            path = os.path.join(outdir, "%02d.lua" % i)
            if not sync(path, code, check, "block %d of %s" % (i, name)):
                bad += 1
        if check:
            print("extract.py: %s: %d examples match %s" % (module, i, name))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
