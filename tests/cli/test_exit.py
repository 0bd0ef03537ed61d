"""`q2c` ends without the interpreter's teardown (the Temporal client's threads could abort it
there), and still exits with each command's own code and complete output."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli import _exit_code

Q2C = [sys.executable, "-m", "cli"]
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "preview"


@pytest.mark.parametrize(
    ("args", "code", "stream", "text"),
    [
        (["preview", str(EXAMPLES / "domestic-vat.json")], 0, "stdout", "DE-VAT-STD"),
        (
            ["preview", str(EXAMPLES / "invalid-overlapping-tiers.json")],
            1,
            "stderr",
            "graduated_ranges.1.from_value",
        ),
        (["status"], 2, "stderr", "Missing argument"),
    ],
)
def test_each_command_keeps_its_exit_code_and_output(
    args: list[str], code: int, stream: str, text: str
) -> None:
    done = subprocess.run([*Q2C, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == code, done.stderr
    assert text in getattr(done, stream)


def test_a_command_that_talks_to_temporal_exits_cleanly_when_it_cannot(tmp_path: Path) -> None:
    env = {"TEMPORAL_ADDRESS": "127.0.0.1:9", "Q2C_HOME": str(tmp_path), "PATH": "/usr/bin"}
    keys = {"Q2C_ENCRYPTION_KEYS": os.environ["Q2C_ENCRYPTION_KEYS"]}
    done = subprocess.run(
        [*Q2C, "queue"], capture_output=True, text=True, timeout=60, env={**env, **keys}
    )
    assert done.returncode == 1, done.stderr
    assert "could not list the queue" in done.stderr

    # Without keys it stops before connecting, saying what to set, with no traceback.
    done = subprocess.run([*Q2C, "queue"], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: payload encryption is on but no key is configured")
    assert "Traceback" not in done.stderr


def test_an_exit_with_a_message_prints_it_and_exits_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # What Python does for sys.exit("message"); main() leaves with os._exit, so it says it.
    assert (_exit_code(None), _exit_code(3)) == (0, 3)
    assert _exit_code("the queue is gone") == 1
    assert capsys.readouterr().err == "the queue is gone\n"


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["intake", "dead-letters"], {"Q2C_INTAKE_PORT": "eighty"}, "Q2C_INTAKE_PORT: "),
        (
            ["send", str(EXAMPLES / "domestic-vat.json"), "--source", "crm"],
            {"Q2C_WEBHOOK_SECRETS": '{"crm": "not a list"}'},
            "Q2C_WEBHOOK_SECRETS (crm): ",
        ),
    ],
)
def test_a_bad_setting_is_named_by_its_variable_with_no_traceback(
    args: list[str], env: dict[str, str], named: str, tmp_path: Path
) -> None:
    environment = {**os.environ, "Q2C_HOME": str(tmp_path), **env}
    done = subprocess.run(
        [*Q2C, *args], capture_output=True, text=True, timeout=60, env=environment
    )
    assert "Traceback" not in done.stderr
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"error: {named}"), done.stderr
