#!/usr/bin/env python3
"""Attributes every input section of a GNU ld map file to the object (or
archive member) it came from, and sums text (code + read-only data), data
and bss per group. Used by scripts/footprint.sh.

    footprint-map.py <file.map>

Groups: embermq (the crate's own code in libembermq.a), compiler_builtins
(memcpy/memmove/memset and friends that the Rust staticlib carries),
firmware (the example's C objects), libc/libgcc (newlib or picolibc,
libgcc). Output sections: .text (the linker scripts also place .rodata
there, and on RISC-V .srodata) and .ARM.exidx count as text, .data as data
(it also occupies flash; on RISC-V with .sdata), .bss as bss (with .sbss).
The same for Arm (arm-none-eabi ld) and RISC-V (riscv64-unknown-elf ld)
maps. Padding (*fill*) is not counted.
"""
import re
import sys

SECTION_KIND = {".text": "text", ".ARM.exidx": "text", ".data": "data", ".bss": "bss"}


def group_of(origin):
    if "libembermq.a(" in origin:
        return "compiler_builtins" if "compiler_builtins" in origin else "embermq"
    if re.search(r"lib(c|c_nano|g|g_nano|nosys|m)\.a\(", origin):
        return "libc"
    if "libgcc.a(" in origin:
        return "libgcc"
    return "firmware"


def main(path):
    lines = open(path).read().splitlines()
    try:
        start = lines.index("Linker script and memory map")
    except ValueError:
        sys.exit("not a GNU ld map file: " + path)
    totals = {}
    out_kind = None
    pending = None  # an input section name whose numbers are on the next line
    entry = re.compile(r"^ (\S+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$")
    cont = re.compile(r"^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$")
    for line in lines[start:]:
        if line and not line[0].isspace():
            # An output section header, e.g. ".text  0x0  0x5b78".
            out_kind = SECTION_KIND.get(line.split()[0])
            pending = None
            continue
        if out_kind is None:
            continue
        m = entry.match(line)
        if m and m.group(1) != "*fill*":
            size, origin = int(m.group(3), 16), m.group(4)
        elif pending and cont.match(line):
            c = cont.match(line)
            size, origin = int(c.group(2), 16), c.group(3)
        else:
            stripped = line.strip()
            pending = stripped if re.match(r"^\.\S+$|^COMMON$", stripped) else None
            continue
        pending = None
        if size == 0:
            continue
        group = group_of(origin)
        totals.setdefault(group, {"text": 0, "data": 0, "bss": 0})[out_kind] += size
    for group in ("embermq", "compiler_builtins", "firmware", "libc", "libgcc"):
        t = totals.get(group, {"text": 0, "data": 0, "bss": 0})
        print(f"{group} {t['text']} {t['data']} {t['bss']}")


if __name__ == "__main__":
    main(sys.argv[1])
