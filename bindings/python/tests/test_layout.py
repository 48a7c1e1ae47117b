"""The ctypes structs in lwmqtt/_capi.py match include/embermq.h: a C
program compiled against the header prints the size and every offset the
binding relies on, and each offset must equal ctypes' figure. A header change
that _capi.py misses fails here instead of corrupting memory."""
import os
import shutil
import subprocess

import pytest
from conftest import ROOT
from lwmqtt import _capi

STRUCTS = [_capi.emq_options, _capi.emq_tls_options, _capi.emq_callbacks, _capi.emq_message, _capi.emq_persistence]


def test_structs_match_the_header(tmp_path):
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.fail("no C compiler (scripts/test-python.sh needs gcc)")
    lines = ['#include <stdio.h>', '#include <stddef.h>', '#include "embermq.h"', "int main(void) {"]
    expected = []
    for struct in STRUCTS:
        name = struct.__name__
        lines.append('printf("%s %%zu\\n", sizeof(struct %s));' % (name, name))
        expected.append("%s %d" % (name, _capi.ctypes.sizeof(struct)))
        for field, _ in struct._fields_:
            lines.append('printf("%s.%s %%zu\\n", offsetof(struct %s, %s));' % (name, field, name, field))
            expected.append("%s.%s %d" % (name, field, getattr(struct, field).offset))
    lines += ["return 0;", "}"]
    source = tmp_path / "layout.c"
    source.write_text("\n".join(lines) + "\n")
    program = tmp_path / "layout"
    subprocess.run(
        [compiler, "-std=c99", "-I", os.path.join(ROOT, "include"), str(source), "-o", str(program)], check=True
    )
    printed = subprocess.run([str(program)], check=True, capture_output=True, text=True).stdout.split("\n")
    header = dict(line.rsplit(" ", 1) for line in printed if line)
    ours = dict(line.rsplit(" ", 1) for line in expected)
    # Every field the binding declares sits where the header has it.
    assert {k: v for k, v in ours.items() if "." in k} == {k: v for k, v in header.items() if "." in k}
    # A struct may have grown at its end in the header (newer fields keep
    # their defaults, see _capi.py), never shrunk below what we declare.
    for struct in STRUCTS:
        assert int(ours[struct.__name__]) <= int(header[struct.__name__]), struct.__name__
