#!/usr/bin/env python3
"""Fails when modules of one crate import each other in a circle.

For every crate under crates/ (and crates/doubles/), each file under src/ is a module (src/lib.rs and
src/main.rs the root, src/a.rs and src/a/mod.rs `a`, src/a/b.rs `a::b`). An
import is any path a file names, in a `use` or in code: `crate::a::b`,
`super::x` (relative to the enclosing module, inline `mod tests {}` blocks
included) and `child::x` for a child module declared in the file. Names the
crate root only re-exports (`pub use plan::Outcome;` in lib.rs) count as
imports of the module that defines them. `mod` declarations are structure,
not imports. Comments and string literals are ignored.

A circle is a strongly connected set of two or more modules; each is printed
with the imports that tie it (file -> file: names), and the exit code is 1.

    python3 scripts/check-module-cycles.py            # the whole workspace
    python3 scripts/check-module-cycles.py crates/x   # some crates
"""

import os
import re
import sys

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def strip(src):
    """The source with comments, strings and char literals blanked out."""
    out = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif src.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if src.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif src.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    out.append("\n" if src[i] == "\n" else "")
                    i += 1
        elif c == "r" and re.match(r'r#*"', src[i:]) and not re.match(r"\w", src[i - 1 : i] or " "):
            m = re.match(r'r(#*)"', src[i:])
            end = '"' + m.group(1)
            j = src.find(end, i + len(m.group(0)))
            j = n if j < 0 else j + len(end)
            out.append('""')
            out.append("\n" * src.count("\n", i, j))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            out.append('""')
            out.append("\n" * src.count("\n", i, j))
            i = j + 1
        elif c == "'":
            m = re.match(r"'(?:\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]+\}|.)|[^\\'\n])'", src[i:])
            if m:
                out.append("' '")
                i += len(m.group(0))
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def module_of(src_dir, path):
    rel = os.path.relpath(path, src_dir)[:-3].split(os.sep)
    if rel in (["lib"], ["main"]):
        return ()
    if rel[-1] == "mod":
        rel = rel[:-1]
    return tuple(rel)


def use_trees(text):
    """Yields every path of every `use` item (groups expanded), with its `use` offset."""
    for m in re.finditer(r"\buse\s+([^;]*);", text):
        for p in expand(m.group(1).replace("\n", " ")):
            yield m.start(), p


def expand(tree, prefix=""):
    tree = tree.strip()
    depth, top = 0, []
    start = 0
    for i, c in enumerate(tree):
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif c == "," and depth == 0:
            top.append(tree[start:i])
            start = i + 1
    top.append(tree[start:])
    for part in (p.strip() for p in top):
        if not part:
            continue
        if "{" in part:
            head, _, rest = part.partition("{")
            inner = rest[: rest.rfind("}")]
            yield from expand(inner, prefix + head.strip())
        else:
            path = (prefix + part).split(" as ")[0].strip()
            yield path.replace(" ", "")


def inline_module_at(text):
    """For each offset, the inline `mod x { ... }` nesting (list of names), as a function."""
    spans = []  # (start, end, name)
    for m in re.finditer(r"\bmod\s+(" + IDENT + r")\s*\{", text):
        depth, j = 1, m.end()
        while j < len(text) and depth:
            if text[j] == "{":
                depth += 1
            elif text[j] == "}":
                depth -= 1
            j += 1
        spans.append((m.end(), j, m.group(1)))

    def at(offset):
        return [name for (s, e, name) in spans if s <= offset < e]

    return at


def analyse_crate(crate_dir):
    src_dir = os.path.join(crate_dir, "src")
    files = {}
    for root, _, names in os.walk(src_dir):
        for name in names:
            if name.endswith(".rs"):
                path = os.path.join(root, name)
                with open(path, encoding="utf-8") as f:
                    files[module_of(src_dir, path)] = (path, strip(f.read()))
    if () not in files:
        return [], files
    modules = set(files)

    def longest_module(path):
        for k in range(len(path), -1, -1):
            if tuple(path[:k]) in modules:
                return tuple(path[:k]), path[k:]
        return None, path

    # Names the root only hands on: `pub use a::b::Name;` in lib.rs.
    reexports = {}
    for _, p in use_trees(files[()][1]):
        parts = p.split("::")
        if parts[0] == "crate":
            parts = parts[1:]
        mod, _ = longest_module(parts[:-1]) if parts[0] in {m[0] for m in modules if m} else (None, None)
        if mod:
            reexports[parts[-1]] = mod

    edges = {}  # (from, to) -> set(names)

    def add(frm, path):
        mod, rest = longest_module(path)
        if mod is None:
            return
        if mod == () and rest and rest[0] in reexports:
            mod = reexports[rest[0]]
            rest = rest[1:] or rest
        if mod != frm:
            edges.setdefault((frm, mod), set()).add("::".join(rest) or "(module)")

    for mod, (path, text) in files.items():
        at = inline_module_at(text)
        children = {m[-1] for m in modules if len(m) == len(mod) + 1 and m[: len(mod)] == mod}
        seen = set()
        for off, p in use_trees(text):
            seen.add(off)
            resolve(mod, at(off), p.split("::"), children, add)
        pat = r"(?<![\w:])((?:crate|super|self)(?:::" + IDENT + r")+)"
        for m in re.finditer(pat, text):
            line_start = text.rfind("\n", 0, m.start()) + 1
            if re.match(r"\s*(pub(\([^)]*\))?\s+)?use\b", text[line_start:]):
                continue  # counted with its `use`
            resolve(mod, at(m.start()), m.group(1).split("::"), children, add)
    return edges, files


def resolve(mod, inline, parts, children, add):
    here = list(mod) + inline
    if parts[0] == "crate":
        add(mod, parts[1:])
    elif parts[0] in ("super", "self"):
        while parts and parts[0] in ("super", "self"):
            if parts[0] == "super":
                here = here[:-1]
            parts = parts[1:]
        add(mod, here + parts)
    elif not inline and parts[0] in children:
        add(mod, list(mod) + parts)


def circles(edges):
    graph = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main(args):
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    crates = args or sorted(
        os.path.join(top, "crates", *parts)
        for parts in [(c,) for c in os.listdir(os.path.join(top, "crates"))]
        + [
            ("doubles", c)
            for c in os.listdir(os.path.join(top, "crates", "doubles"))
        ]
        if os.path.isdir(os.path.join(top, "crates", *parts, "src"))
    )
    found = 0
    for crate in crates:
        edges, files = analyse_crate(crate)
        for comp in circles(edges):
            found += 1
            names = [os.path.relpath(files[m][0], top) for m in comp]
            print(f"circle in {os.path.relpath(crate, top)}: {', '.join(names)}")
            for a in comp:
                for b in comp:
                    if (a, b) in edges:
                        what = ", ".join(sorted(edges[(a, b)]))
                        print(f"  {os.path.relpath(files[a][0], top)} -> {os.path.relpath(files[b][0], top)}: {what}")
    if found:
        print(f"{found} module circle(s): move what both sides need into a module they can both import")
        return 1
    print(f"no module circles in {len(crates)} crate(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
