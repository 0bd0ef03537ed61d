"""Starting with keys: a worker refuses a malformed key before it connects; the dev stack makes
its key once under its home, where every q2c process of that home finds it."""

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from cli import build_app
from devstack.stack import DevStack
from workers.keys import parse_key_set


def test_a_worker_refuses_to_start_with_a_malformed_key() -> None:
    env = {
        **os.environ,
        "Q2C_ENCRYPTION_KEYS": json.dumps({"q2c-2026": base64.b64encode(bytes(24)).decode()}),
        "TEMPORAL_ADDRESS": "127.0.0.1:1",  # refused before it would try to connect
    }
    done = subprocess.run(
        [sys.executable, "-m", "cli", "worker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2, done.stderr
    assert "Q2C_ENCRYPTION_KEYS: key 'q2c-2026' is 24 bytes; AES-256 needs 32" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_dev_stack_key_is_made_once_and_used_by_its_clients(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("Q2C_ENCRYPTION")}
    env["Q2C_HOME"] = str(tmp_path)
    first = subprocess.run(
        [sys.executable, "-m", "cli", "keys", "list"], env=env, capture_output=True, text=True
    )
    assert first.returncode == 2 and "no key is configured" in first.stderr
    stack = DevStack(home=tmp_path, encryption=True)
    saved = dict(os.environ)
    try:
        os.environ.pop("Q2C_ENCRYPTION_KEYS")
        path = stack.prepare_keys()
        assert path == tmp_path / "encryption-keys.json"
        made = path.read_text()
        assert stack.prepare_keys() == path and path.read_text() == made
    finally:
        os.environ.clear()
        os.environ.update(saved)
    listed = subprocess.run(
        [sys.executable, "-m", "cli", "keys", "list"], env=env, capture_output=True, text=True
    )
    assert listed.stdout == "q2c-dev  encrypts\n", listed.stderr


def test_keys_new_prints_a_usable_key_set_or_refuses_a_bad_id(tmp_path: Path) -> None:
    runner = CliRunner()
    made = runner.invoke(build_app(), ["keys", "new", "--id", "q2c-2027-02"])
    assert made.exit_code == 0, made.output
    [(key_id, key)] = json.loads(made.stdout).items()
    assert key_id == "q2c-2027-02" and len(base64.b64decode(key)) == 32
    assert list(parse_key_set(made.stdout, source="stdout")) == ["q2c-2027-02"]
    for argv in (["keys", "new", "--id", "has space"], ["keys", "new", "--id", "bad/id"]):
        refused = runner.invoke(build_app(), argv)
        assert refused.exit_code == 2 and refused.stdout == ""
        assert "must be 1 to 64 letters, digits" in refused.stderr
    path = tmp_path / "set.json"
    refused = runner.invoke(build_app(), ["keys", "new", "--id", "has space", "--file", str(path)])
    assert refused.exit_code == 2 and not path.exists()
