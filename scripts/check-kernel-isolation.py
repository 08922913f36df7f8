#!/usr/bin/env python3
"""Portability check of LArSel's kernel sets (larsel/core/isa_region.hpp).

Disassembles ELF files (the larsel binary, or the per-ISA objects of any build
type) and fails when an instruction another x86-64 CPU may lack appears in a
function outside the kernel namespaces that may hold it:
  - EVEX-encoded (AVX-512) instructions only in ...::avx512:: and ...::avx512vnni::
  - VEX-encoded (AVX, AVX2, BMI) instructions only there and in ...::avx2::
Such a function would run on a CPU without those instructions: a SIGILL. In
64-bit mode the first opcode byte tells the encoding: 0x62 is EVEX, 0xC4 and
0xC5 are VEX (their legacy meanings, BOUND, LES, LDS, do not exist there).

Usage: check-kernel-isolation.py [--list FILE] [--expect-kernels] ELF...
  --list FILE       also check the files named in FILE, one per line
  --expect-kernels  also fail unless some AVX-512 and some AVX2 kernel code is
                    found: proves the scan sees the kernels it should allow
Exit status 0 when clean, 1 with one line per offending function otherwise.
"""
import re
import subprocess
import sys

EVEX_NAMESPACES = ("::avx512::", "::avx512vnni::")
VEX_NAMESPACES = EVEX_NAMESPACES + ("::avx2::",)
# The same namespaces in names the demangler leaves mangled (very long ones): <length><name>.
MANGLED = {"evex": re.compile(r"(?<!\d)(6avx512|10avx512vnni)(?=\d|[A-Z])"),
           "vex": re.compile(r"(?<!\d)(6avx512|10avx512vnni|4avx2)(?=\d|[A-Z])")}
LEGACY_PREFIXES = {"66", "67", "f2", "f3", "2e", "3e", "26", "64", "65", "36", "f0"}
FUNCTION = re.compile(r"^[0-9a-f]+ <(.*)>:$")
INSTRUCTION = re.compile(r"^\s*[0-9a-f]+:\t((?:[0-9a-f]{2} )+)\s*\t(\S+)")


def encoding(hex_bytes):
    """'evex', 'vex' or None for an instruction's bytes."""
    for b in hex_bytes:
        if b in LEGACY_PREFIXES:
            continue
        if b == "62":
            return "evex"
        if b in ("c4", "c5"):
            return "vex"
        return None
    return None


def scan(path):
    """Per function: (name, set of encodings used, first offending mnemonic per encoding)."""
    out = subprocess.run(["objdump", "-d", "-C", "-w", path], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"check-kernel-isolation: objdump failed on {path}: {out.stderr.strip()}")
    functions = {}
    name = None
    for line in out.stdout.splitlines():
        m = FUNCTION.match(line)
        if m:
            name = m.group(1)
            functions.setdefault(name, {})
            continue
        if name is None:
            continue
        m = INSTRUCTION.match(line)
        if not m:
            continue
        kind = encoding(m.group(1).split())
        if kind and kind not in functions[name]:
            functions[name][kind] = m.group(2)
    return functions


def main(argv):
    expect = "--expect-kernels" in argv
    files = [a for a in argv if a != "--expect-kernels"]
    if "--list" in files:
        i = files.index("--list")
        with open(files[i + 1]) as f:
            listed = [line.strip() for line in f if line.strip()]
        files = files[:i] + files[i + 2:] + listed
    if not files:
        print("usage: check-kernel-isolation.py [--list FILE] [--expect-kernels] ELF...", file=sys.stderr)
        return 2
    bad, kernels = [], {"evex": 0, "vex": 0}
    for path in files:
        for name, kinds in scan(path).items():
            for kind, mnemonic in kinds.items():
                allowed = EVEX_NAMESPACES if kind == "evex" else VEX_NAMESPACES
                if any(ns in name for ns in allowed) or (name.startswith("_Z") and MANGLED[kind].search(name)):
                    kernels[kind] += 1
                else:
                    what = "AVX-512 (EVEX)" if kind == "evex" else "AVX/AVX2 (VEX)"
                    bad.append(f"{path}: {what} instruction {mnemonic} in {name[:300]}")
    for line in bad:
        print(line)
    print(f"check-kernel-isolation: {len(files)} file(s), {kernels['evex']} AVX-512 and {kernels['vex']} AVX2 kernel "
          f"functions inside their namespaces, {len(bad)} function(s) outside them")
    if expect and (kernels["evex"] == 0 or kernels["vex"] == 0):
        print("check-kernel-isolation: expected AVX-512 and AVX2 kernel functions, found none of one kind: "
              "is this the right file?")
        return 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
