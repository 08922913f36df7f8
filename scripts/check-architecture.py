#!/usr/bin/env python3
"""The house against its map: every #include of a project header in a module's sources must name a
module that docs/architecture.md's module table lets it use (its "Uses" column), and no source
outside a module may include that module's src/ files. Prints each violation; exit 1 if any."""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent)
table_row = re.compile(r"^\| `([a-z/]+)/` \| `larsel::([a-z]+)` \|\s*([^|]*?)\s*\|")
include = re.compile(r'^\s*#\s*include\s+"larsel/([a-z]+)/')

# Module directory -> (its library, the libraries it may use: those named in its row, what they
# use in turn, and for "all of the above" every library in an earlier row).
modules = {}
uses_of = {}
for line in (root / "docs/architecture.md").read_text().splitlines():
    m = table_row.match(line)
    if not m:
        continue
    named = {u.strip() for u in m.group(3).split(",") if u.strip()}
    if "all of the above" in named:
        named = set(uses_of)
    uses = set()
    for library in named & set(uses_of):  # names of other libraries (fmt, Eigen, ...) are not modules
        uses |= {library} | uses_of[library]
    uses_of[m.group(2)] = uses
    modules[m.group(1)] = (m.group(2), uses)
if not modules:
    sys.exit("check-architecture: no module table found in docs/architecture.md")

# larsel/<dir>/ in an include names the library that owns it: models/... is inference or training.
owner_of_header = {}
for directory, (library, _) in modules.items():
    for header in (root / directory).glob("include/larsel/*/**/*.hpp"):
        relative = header.relative_to(root / directory / "include").as_posix()
        owner_of_header[relative] = library

violations = []
for directory, (library, uses) in modules.items():
    allowed = uses | {library}
    for source in sorted((root / directory).rglob("*")):
        if source.suffix not in (".hpp", ".cpp", ".ipp", ".h") or "hls_templates" in source.parts or "hls_compat" in source.parts:
            continue
        for number, text in enumerate(source.read_text(errors="replace").splitlines(), 1):
            m = re.match(r'^\s*#\s*include\s+"(larsel/[^"]+)"', text)
            if not m:
                continue
            owner = owner_of_header.get(m.group(1))
            if owner is None:
                violations.append(f"{source.relative_to(root)}:{number}: {m.group(1)} is no module's public header")
            elif owner not in allowed:
                violations.append(f"{source.relative_to(root)}:{number}: {library} includes {m.group(1)} of {owner}, "
                                  f"which docs/architecture.md does not let it use ({', '.join(sorted(uses)) or 'nothing'})")

# Tests and other modules use public headers only: no include path into a module's src/.
for cmake in list(root.glob("*/CMakeLists.txt")) + list(root.glob("*/*/CMakeLists.txt")):
    for number, text in enumerate(cmake.read_text().splitlines(), 1):
        if re.search(r"target_include_directories\(\s*larsel_tests\b.*/src\b", text):
            violations.append(f"{cmake.relative_to(root)}:{number}: the tests reach into a module's src/")

for v in violations:
    print(v)
print(f"check-architecture: {len(modules)} modules, {len(violations)} violations")
sys.exit(1 if violations else 0)
