"""Shared by bindings/*/examples/extract.py: the seed documents' code
blocks kept as example files, byte for byte."""
import sys


def arguments(argv, usage):
    """(check, seeds directory) from `[--check] <seeds-dir>`, or None after
    printing `usage`."""
    check = "--check" in argv
    rest = [a for a in argv if a != "--check"]
    if len(rest) != 1:
        print(usage.strip(), file=sys.stderr)
        return None
    return check, rest[0]


def sync(path, code, check, where):
    """Writes `code` to `path`; with `check`, only compares them and says
    so when they differ (`where` names the block). False when they differ."""
    if not check:
        with open(path, "w", encoding="utf-8") as f:
            f.write(code)
        return True
    try:
        with open(path, encoding="utf-8") as f:
            same = f.read() == code
    except FileNotFoundError:
        same = False
    if not same:
        print("extract.py: %s differs from %s" % (path, where))
    return same
