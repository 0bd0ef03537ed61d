"""Imports go one way (README, "Layout"): every import of every module in the product packages,
read from its syntax tree, including those inside functions and `TYPE_CHECKING` blocks."""

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PRODUCT = ("schemas", "billing", "activities", "workflows", "workers", "starters", "ops")
MAY_IMPORT: dict[str, frozenset[str]] = {
    "schemas": frozenset(),
    "billing": frozenset({"schemas"}),
    "activities": frozenset({"schemas", "billing"}),
    "workflows": frozenset({"schemas", "activities"}),  # activity references
    "workers": frozenset({"schemas", "billing", "activities", "workflows"}),
    "starters": frozenset({"schemas", "workflows"}),
    "ops": frozenset(PRODUCT),
    "devstack": frozenset(PRODUCT),
    "cli": frozenset({*PRODUCT, "devstack"}),
    "systems": frozenset(),  # another company's system: nothing of q2c, nor q2c of it
}
"""Besides itself, what each package may import; `systems`, `devstack` and `cli` appear in no
other package's set: only tests import them."""
CHECKED = frozenset({*MAY_IMPORT, "tests"})
"""The packages an import is checked against: q2c's own, and the tests, which none may import."""


@dataclass(frozen=True)
class Violation:
    module: str
    line: int
    imported: str

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.imported}"


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported(node: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        if node.level == 0:
            yield node.module or ""
            return
        # A relative import stays in its own package, but resolve it all the same.
        base = module.split(".")
        base = base if is_package else base[:-1]
        base = base[: len(base) - (node.level - 1)]
        yield ".".join([*base, node.module] if node.module else base)


def violations(root: Path) -> list[Violation]:
    """Every import in `root`'s q2c packages that their rules do not allow."""
    found: list[Violation] = []
    for package, allowed in MAY_IMPORT.items():
        for path in sorted((root / package).rglob("*.py")):
            module = _module_name(path, root)
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                for name in _imported(node, module, path.name == "__init__.py"):
                    top = name.split(".")[0]
                    if top in CHECKED and top != package and top not in allowed:
                        found.append(Violation(module, getattr(node, "lineno", 0), name))
    return found


def test_every_package_imports_only_what_the_layout_allows() -> None:
    found = violations(ROOT)
    assert not found, "imports against the layout rules:\n" + "\n".join(map(str, found))


def test_every_package_is_checked() -> None:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests"}
    assert packages == set(MAY_IMPORT)


def _plant(root: Path, module: str, source: str) -> None:
    path = root / (module.replace(".", "/") + ".py")
    path.parent.mkdir(parents=True, exist_ok=True)
    for folder in (path.parent, *path.parent.parents):
        if folder == root:
            break
        (folder / "__init__.py").touch()
    path.write_text(source, encoding="utf-8")


def test_the_checker_names_each_broken_rule(tmp_path: Path) -> None:
    _plant(tmp_path, "billing.rating", "from activities.erp import ErpActivities\n")
    _plant(
        tmp_path,
        "workers.worker",
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    import devstack.stack\n"
        "def main() -> None:\n"
        "    from cli import main\n",
    )
    _plant(tmp_path, "ops.report", "from systems.app import create_app\n")
    _plant(tmp_path, "cli.queue", "from tests.conftest import SystemsService\n")
    _plant(tmp_path, "starters.intake", "import schemas.events\nfrom workflows import x\n")
    _plant(tmp_path, "devstack.demo", "from ops.report import build\nfrom . import stack\n")
    found = {str(v) for v in violations(tmp_path)}
    assert found == {
        "billing.rating:1 imports activities.erp",
        "workers.worker:3 imports devstack.stack",
        "workers.worker:5 imports cli",
        "ops.report:1 imports systems.app",
        "cli.queue:1 imports tests.conftest",
    }
