"""The layers of ARCHITECTURE.md hold: each package imports only what its layer may, no module
imports typer outside the CLI, no import cycles, no module over 500 lines."""
from __future__ import annotations

import ast
from pathlib import Path

import redtext

ROOT = Path(redtext.__file__).parent

#: layer -> the layers its modules may import (besides themselves); top-level modules are layers too
ALLOWED = {
    "_version": set(),
    "errors": set(),
    "progress": set(),
    "core": {"errors"},
    "io": {"errors", "progress"},
    "embed": {"core", "errors", "io", "progress"},
    "experts": {"core", "errors", "io"},
    "backends": {"core", "errors", "embed"},
    "options": {"errors"},
    "estimator": {"core", "embed", "experts", "backends", "io", "errors", "options", "progress"},
    "testing": {"core", "embed", "experts", "errors"},
    "app": {"core", "embed", "experts", "backends", "io", "errors", "options", "progress", "estimator", "__init__"},
    "bench": {"core", "embed", "experts", "backends", "io", "errors", "options", "progress", "estimator", "app"},
    "cli": {"app", "bench", "core", "errors", "options", "estimator", "backends", "experts", "io", "embed"},
    "__init__": {"errors", "estimator", "options"},
}


def _modules():
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        yield rel, ast.parse(path.read_text(encoding="utf-8"))


def _layer(rel: Path) -> str:
    return rel.parts[0].removesuffix(".py") if len(rel.parts) > 1 else rel.stem


def _imports(rel: Path, tree) -> list[tuple[str, int]]:
    """(``redtext.x.y`` module, line) for every import of the package, relative or absolute."""
    package = ["redtext", *rel.parts[:-1]]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name.startswith("redtext"):
                out.append((name, node.lineno))
        elif isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names if a.name.startswith("redtext")]
    return out


def test_each_layer_imports_only_what_it_may():
    wrong = []
    for rel, tree in _modules():
        layer = _layer(rel)
        for name, line in _imports(rel, tree):
            parts = name.split(".")
            target = parts[1] if len(parts) > 1 else "__init__"
            if target != layer and target != "_version" and target not in ALLOWED[layer]:
                wrong.append(f"{rel}:{line} ({layer}) imports {name}")
    assert not wrong, "\n".join(wrong)


def test_typer_only_in_the_cli_and_no_module_over_500_lines():
    for rel, tree in _modules():
        lines = (ROOT / rel).read_text(encoding="utf-8").count("\n")
        assert lines <= 500, f"{rel} has {lines} lines"
        if _layer(rel) != "cli":
            for node in ast.walk(tree):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                assert not any(n.split(".")[0] in ("typer", "click") for n in names), f"{rel} imports {names}"


def test_no_import_cycles_between_modules():
    graph: dict[str, set[str]] = {}
    known = set()
    for rel, _ in _modules():
        name = ".".join(["redtext", *rel.with_suffix("").parts]).removesuffix(".__init__")
        known.add(name)
    for rel, tree in _modules():
        name = ".".join(["redtext", *rel.with_suffix("").parts]).removesuffix(".__init__")
        deps = set()
        for target, _ in _imports(rel, tree):
            while target not in known and "." in target:
                target = target.rsplit(".", 1)[0]
            # a package importing its own submodules (re-exports) is not a cycle
            if target != name and not target.startswith(name + ".") and not name.startswith(target + "."):
                deps.add(target)
        graph[name] = deps
    state: dict[str, int] = {}

    def visit(node, path):
        state[node] = 1
        for dep in graph.get(node, ()):
            if state.get(dep) == 1:
                raise AssertionError("import cycle: " + " -> ".join(path[path.index(dep):] + [dep]))
            if dep not in state:
                visit(dep, path + [dep])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [node])
