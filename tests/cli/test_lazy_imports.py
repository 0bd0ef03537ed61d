"""Building the `q2c` command tree loads no command's machinery: each command imports what it
needs when it runs, so `q2c --help`, `q2c status` and every spawned `q2c` start in a fraction of
the time the Temporal SDK's protobufs, the e-invoice stack and the dev stack would take."""

import json
import subprocess
import sys

HEAVY = (
    "temporalio",
    "httpx",
    "sqlalchemy",
    "sqlmodel",
    "saxonche",
    "reportlab",
    "facturx",
    "uvicorn",
    "fastapi",
)
"""Third-party packages only some commands use (the Temporal SDK costs ~0.5 s on its own)."""

Q2C_PACKAGES = ("schemas", "billing", "activities", "workflows", "workers", "starters", "ops")
LIGHT_Q2C = frozenset(
    {
        "devstack",
        "devstack.bench",
        "devstack.bench.knobs",  # --knob's help text
        "devstack.chaos_keys",  # --runs' upper bound in `q2c chaos --help`
        "schemas",
        "schemas.views",  # the Web UI views `q2c queue` lists
        "workers",
        "workers.keys",  # main() names a key problem whatever the command
    }
)
"""q2c's own modules `import cli` may load: constants for help texts, nothing that imports on."""


def _loaded_after_building_the_app() -> list[str]:
    code = "import json, sys\nimport cli\ncli.build_app()\nprint(json.dumps(sorted(sys.modules)))\n"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    loaded: list[str] = json.loads(done.stdout)
    return loaded


def test_building_the_command_tree_loads_no_command_machinery() -> None:
    loaded = _loaded_after_building_the_app()
    heavy = [m for m in loaded if m.split(".")[0] in HEAVY]
    ours = [
        m for m in loaded if m.split(".")[0] in (*Q2C_PACKAGES, "devstack") and m not in LIGHT_Q2C
    ]
    assert not heavy, f"`import cli` loads {sorted({m.split('.')[0] for m in heavy})}"
    assert not ours, f"`import cli` loads q2c modules a command should import itself: {ours}"
