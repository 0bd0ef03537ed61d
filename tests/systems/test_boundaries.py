"""The systems stand for other companies' software: they never import q2c."""

import ast
from pathlib import Path

import systems.app

Q2C_PACKAGES = {"schemas", "billing", "activities", "workflows", "workers", "starters", "tests"}


def test_systems_imports_nothing_of_q2c() -> None:
    root = Path(systems.app.__file__).parent
    offenders = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            offenders += [
                f"{path.relative_to(root)}: {name}"
                for name in names
                if name.split(".")[0] in Q2C_PACKAGES
            ]
    assert offenders == []
