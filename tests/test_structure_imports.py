"""The package's import graph has no cycle, between modules or between packages (read from the source with ast).

Every import counts, including those inside functions: a cycle hidden in a function body is still
a cycle between the two modules' responsibilities. Imports under ``if TYPE_CHECKING:`` do not run
and are left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "haier_pipeline"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def package_of(module: str, modules: dict[str, Path]) -> str:
    return module if is_package(modules[module]) else module.rpartition(".")[0]


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules ``module`` imports (``from a import b`` counts ``a.b`` when that is a module)."""
    tree = ast.parse(path.read_text(), str(path))
    skipped = _type_checking_lines(tree)
    package = package_of(module, modules)
    found: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", 0) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name in modules and name != module}


def graph() -> tuple[dict[str, Path], dict[str, set[str]]]:
    modules = {module_name(path): path for path in ROOT.rglob("*.py") if "migrations" not in path.parts}
    return modules, {name: imports_of(name, path, modules) for name, path in modules.items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the directed graph, as a path that ends where it starts, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                return [*stack[stack.index(target):], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_walker_finds_a_cycle_when_there_is_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_the_graph_sees_the_known_edges() -> None:
    modules, edges = graph()
    assert "haier_pipeline.resources.catalog" in edges["haier_pipeline.definitions"] | {
        target for source in edges["haier_pipeline.definitions"] for target in edges[source]}
    assert "haier_pipeline.haier_api.endpoints" in edges["haier_pipeline.sandbox.endpoints"]
    assert len(modules) > 100


def test_no_cycle_between_modules() -> None:
    # A package's __init__ re-exporting its own modules is not a cycle of responsibilities.
    modules, edges = graph()
    pruned = {source: {t for t in targets if not (is_package(modules[t]) and source.startswith(t + "."))}
              for source, targets in edges.items()}
    assert find_cycle(pruned) is None, " -> ".join(find_cycle(pruned) or [])


def test_no_cycle_between_packages() -> None:
    modules, edges = graph()
    packages: dict[str, set[str]] = {}
    for source, targets in edges.items():
        mine = package_of(source, modules)
        for target in targets:
            theirs = package_of(target, modules)
            if theirs != mine and not mine.startswith(theirs + ".") and not theirs.startswith(mine + "."):
                packages.setdefault(mine, set()).add(theirs)
    cycle = find_cycle(packages)
    assert cycle is None, " -> ".join(cycle or [])


@pytest.mark.parametrize("package", ["haier_pipeline.haier_api", "haier_pipeline.catalog", "haier_pipeline.media",
                                     "haier_pipeline.sandbox"])
def test_plain_packages_import_no_dagster(package: str) -> None:
    modules, _ = graph()
    offenders = [name for name, path in modules.items() if name.startswith(package)
                 and any(line.split()[1].startswith("dagster") for line in path.read_text().splitlines()
                         if line.strip().startswith(("import ", "from ")) and len(line.split()) > 1)]
    assert not offenders
