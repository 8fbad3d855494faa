"""Print which way imports run through minitl's core, and every import that runs against it.

    python3 scripts/import_graph.py            # the layer graph, the edges against the direction, cycles
    python3 scripts/import_graph.py --check    # the same, and exit 1 if anything runs against the direction
    python3 scripts/import_graph.py --root OTHER/minitl    # another checkout (an older commit, say)

The core is layered (docs/architecture.md): backend <- tensor <- autograd <- functional <- nn <- the rest.
A module may import from its own layer and the layers below it. This script reads the source with
``ast`` (nothing is imported, so a broken tree can still be inspected) and reports:

* the edges between layers, counted, with ``UP`` where a layer imports one above it;
* each import inside a function or class body, or below the top of a file, in the core (the usual sign
  of a cycle); imports of optional packages (cupy, scipy, ...) are not minitl's and are left out;
* cycles among core modules (strongly connected components of the module graph).

A module that imports nothing from minitl (``table``, ``atomic``) is a leaf: anyone may import it.
"""
import argparse
import ast
import collections
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent / "minitl"

# Layer of each core module, bottom first; a name ending in "." is a package prefix.
LAYERS = [
    ("backend", ["minitl.backend", "minitl.random", "minitl.device_checks", "minitl.allocator"]),
    ("tensor", ["minitl.tensor", "minitl.creation", "minitl.hooks"]),
    ("autograd", ["minitl.autograd"]),
    ("functional", ["minitl.functional.", "minitl.functional", "minitl.tensor_methods", "minitl.gradcheck"]),
    ("nn", ["minitl.nn.", "minitl.nn"]),
]
REST = len(LAYERS)  # everything above nn: optim, train, io, data, models, inspect, viz, transfer, cli


def module_name(path, root=ROOT):
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(name):
    for rank, (_, members) in enumerate(LAYERS):
        for member in members:
            if name == member or (member.endswith(".") and name.startswith(member)):
                return rank
    return REST


def resolve(current, is_package, node):
    """The minitl modules an ImportFrom / Import node names (absolute names; others dropped)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name.split(".")[0] == "minitl"]
    base = current.split(".")
    if node.level:
        base = base[: len(base) - node.level + (1 if is_package else 0)]
        prefix = ".".join(base + ([node.module] if node.module else []))
    else:
        prefix = node.module or ""
    if prefix.split(".")[0] != "minitl":
        return []
    # ``from . import backend`` names a module; ``from .tensor import Tensor`` names a module's attribute
    return [f"{prefix}.{alias.name}" for alias in node.names] + [prefix]


def read_imports(modules):
    """name -> list of (imported module, line, at_top): at_top False for an import in a body or below code."""
    known = set(modules)
    found = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        top_level = {id(node) for node in tree.body}
        seen_code = False
        for node in tree.body:
            if not isinstance(node, (ast.Import, ast.ImportFrom, ast.Expr, ast.If, ast.Try)):
                seen_code = True
            node.minitl_late = seen_code
        imports = []
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            at_top = id(node) in top_level and not node.minitl_late
            targets = [t for t in resolve(name, path.name == "__init__.py", node) if t in known]
            # ``from .functional import shape`` resolves to both the package and the module: keep the module
            targets = [t for t in targets if not any(o.startswith(t + ".") for o in targets)] or targets
            imports.extend((target, node.lineno, at_top) for target in targets if target != name)
        found[name] = imports
    return found


def cycles(graph):
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, result, counter = {}, {}, set(), [], [], [0]
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(graph[start]))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        result.append(sorted(component))
    return result


def analyse(root=ROOT):
    """A dict: layer edge counts, upward edges, late imports in the core, cycles among core modules.

    ``root`` is the ``minitl`` package folder (another tree of the same layout can be checked too)."""
    modules = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    imports = read_imports(modules)
    leaves = {name for name, found in imports.items() if not found and layer_of(name) == REST}

    def rank(name):
        return 0 if name in leaves else layer_of(name)

    edges = collections.Counter()
    upward, late = [], []
    for name, found in imports.items():
        for target, line, at_top in found:
            edges[(rank(name), rank(target))] += 1
            where = f"{modules[name].relative_to(root.parent)}:{line}"
            if rank(target) > rank(name):
                upward.append(f"{where}  {name} -> {target}")
            if not at_top and rank(name) < REST:
                late.append(f"{where}  {name} -> {target}")
    core = {name: {t for t, _, _ in found if rank(t) < REST}
            for name, found in imports.items() if rank(name) < REST}
    return {"edges": edges, "upward": sorted(set(upward)), "late": sorted(set(late)), "cycles": cycles(core)}


def layer_label(rank):
    return LAYERS[rank][0] if rank < REST else "the rest"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if any import runs against the direction")
    parser.add_argument("--root", type=pathlib.Path, default=ROOT, help="the minitl package folder to read")
    args = parser.parse_args(argv)
    report = analyse(args.root.resolve())
    print("imports between layers (importer -> imported, count):")
    for (source, target), count in sorted(report["edges"].items()):
        if source != target:
            mark = "  UP" if target > source else ""
            print(f"  {layer_label(source):>10} -> {layer_label(target):<10} {count:4d}{mark}")
    sections = [("imports against the direction", report["upward"]),
                ("core imports inside a body or below the top of a file", report["late"]),
                ("cycles among core modules", [" <-> ".join(c) for c in report["cycles"]])]
    for title, lines in sections:
        print(f"{title}: {len(lines)}")
        for line in lines:
            print(f"  {line}")
    bad = any(lines for _, lines in sections)
    return 1 if (args.check and bad) else 0


if __name__ == "__main__":
    sys.exit(main())
