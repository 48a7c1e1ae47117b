#!/usr/bin/env python3
"""The code printed in the seed document, as files the tests run.

    extract.py <seeds-dir>            write bindings/python/examples/NN.py
    extract.py --check <seeds-dir>    check the files still match the document

The Zerynth page (004_ec32220e69eff14a.txt) is reStructuredText: its code
is each literal block, the indented lines after a paragraph ending in
"::". Each becomes examples/NN.py with the block's common indentation
removed (as reStructuredText renders it) and nothing else changed.
tests/test_examples.py runs them unmodified; --check (run by
scripts/test-python.sh when the seeds are at hand) proves they are the
document's text.
"""
import os
import sys
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))
from seed_examples import arguments, sync  # noqa: E402  (bindings/seed_examples.py)

SEED = "004_ec32220e69eff14a.txt"


def literal_blocks(text):
    """The literal blocks of a reStructuredText text, dedented, in order."""
    lines = text.splitlines(keepends=True)
    blocks = []
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.rstrip().endswith("::") or line.lstrip().startswith(".."):
            continue
        indent = len(line) - len(line.lstrip())
        body = []
        while i < len(lines) and not lines[i].strip():
            i += 1  # the blank line(s) before the block
        while i < len(lines):
            current = lines[i]
            if current.strip() and len(current) - len(current.lstrip()) <= indent:
                break
            body.append(current)
            i += 1
        while body and not body[-1].strip():
            body.pop()
        if body:
            blocks.append(textwrap.dedent("".join(body)))
    return blocks


def main(argv):
    parsed = arguments(argv, __doc__)
    if parsed is None:
        return 2
    check, seeds = parsed
    with open(os.path.join(seeds, SEED), encoding="utf-8") as f:
        blocks = literal_blocks(f.read())
    bad = 0
    for number, code in enumerate(blocks, 1):
        path = os.path.join(HERE, "%02d.py" % number)
        if not sync(path, code, check, "block %d of %s" % (number, SEED)):
            bad += 1
    if check:
        print("extract.py: %d examples match %s" % (len(blocks), SEED))
    return 1 if bad or not blocks else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
