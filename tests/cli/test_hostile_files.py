"""Hostile files given to `q2c start` and `q2c preview`: each ends with the command's own
`error:` or `invalid event:` line and exit code, never a traceback."""

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cli import build_app
from tests.json_junk import BOUNDED, JSON_VALUES, RAW_BYTES

Q2C = [sys.executable, "-m", "cli"]
FEWER = settings(BOUNDED, max_examples=20)  # each example runs the whole command
HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parents[1] / "examples" / "preview" / "usage-mix.json"
EVENT = {
    "type": "billing_cycle.closed",
    "event_id": "evt-cli-hostile",
    "schema_version": 1,
    "occurred_at": "2026-11-01T00:00:00Z",
    "contract_id": "C-CLI-HOSTILE",
    "period_start": "2026-10-01",
    "period_end": "2026-11-01",
}


def _start(tmp_path: Path, data: bytes, *, stdin: bool = False) -> subprocess.CompletedProcess[str]:
    # Nothing listens on port 9: a command that got past validation would fail to connect.
    env = {"TEMPORAL_ADDRESS": "127.0.0.1:9", "Q2C_HOME": str(tmp_path), "PATH": "/usr/bin"}
    env["Q2C_ENCRYPTION_KEYS"] = __import__("os").environ["Q2C_ENCRYPTION_KEYS"]
    if stdin:
        return subprocess.run(
            [*Q2C, "start", "-"], input=data.decode("latin-1"), capture_output=True, text=True,
            timeout=60, env=env, encoding="latin-1",
        )  # fmt: skip
    path = tmp_path / "event.json"
    path.write_bytes(data)
    return subprocess.run(
        [*Q2C, "start", str(path)], capture_output=True, text=True, timeout=60, env=env
    )


@pytest.mark.parametrize("stdin", [False, True], ids=["file", "stdin"])
def test_start_refuses_bytes_that_are_not_utf8_with_exit_2(tmp_path: Path, stdin: bool) -> None:
    data = json.dumps(EVENT | {"event_id": "évt"}, ensure_ascii=False).encode("latin-1")
    done = _start(tmp_path, data, stdin=stdin)
    assert done.returncode == 2, done.stderr
    assert "invalid event: event: " in done.stderr and "not UTF-8 text (byte " in done.stderr
    assert "Traceback" not in done.stderr


def test_start_refuses_a_three_megabyte_field_with_exit_2(tmp_path: Path) -> None:
    done = _start(tmp_path, json.dumps(EVENT | {"event_id": "x" * 3_000_000}).encode())
    assert done.returncode == 2, done.stderr[-500:]
    assert "invalid event: event_id: String should have at most 200 characters" in done.stderr
    assert len(done.stderr) < 2_000 and "Traceback" not in done.stderr


def _preview(path: Path) -> Any:
    return CliRunner().invoke(build_app(), ["preview", str(path), "--format", "json"])


def _document(**amount: object) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(EXAMPLE.read_text("utf-8"))
    document["contract"]["charges"][0]["properties"].update(amount)
    return document


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            json.dumps(_document(amount="1e400")).encode(),
            "contract.charges.0.properties.amount: Value error, must be below 10^15",
        ),
        (
            json.dumps(_document(amount=10**30)).encode(),
            "contract.charges.0.properties.amount: Value error, must be below 10^15",
        ),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON: nested too deep"),
        ('{"contract": "Société"}'.encode("latin-1"), "not UTF-8 text (byte 18)"),
        (b'{"usage": {"seats": NaN}}', "not valid JSON: NaN is not a JSON number"),
    ],
    ids=["1e400", "10**30", "nested-100000", "latin-1", "NaN"],
)
def test_preview_gives_its_error_line_for_hostile_files(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "hostile.json"
    path.write_bytes(content)
    result = _preview(path)
    assert result.exit_code == 1, result.stdout
    assert isinstance(result.exception, SystemExit)
    assert result.stderr.startswith("error: ")
    assert expected in result.stderr


def test_preview_amounts_that_multiply_past_exact_arithmetic_are_an_error_line(
    tmp_path: Path,
) -> None:
    # Both within bounds; 10^14 × 10^14 has more digits than decimal arithmetic keeps exact.
    document = _document()
    api = document["contract"]["charges"][1]
    assert (api["metric"], api["charge_model"]) == ("api_calls", "standard")
    api["properties"]["amount"] = "99999999999999.99"
    document["usage"]["api_calls"] = "99999999999999"
    path = tmp_path / "product.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    result = _preview(path)
    assert result.exit_code == 1, result.stdout
    assert result.stderr.startswith("error: ")


def _no_traceback(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzzed.json"
        path.write_bytes(content)
        result = _preview(path)
    assert result.exit_code in (0, 1), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    if result.exit_code == 1:
        assert result.stderr.startswith("error: ")


@FEWER
@given(document=JSON_VALUES)
def test_preview_of_any_json_value_is_an_invoice_or_an_error_line(document: Any) -> None:
    _no_traceback(json.dumps(document).encode())


@FEWER
@given(data=RAW_BYTES)
def test_preview_of_raw_bytes_is_an_invoice_or_an_error_line(data: bytes) -> None:
    _no_traceback(data)


@FEWER
@given(
    section=st.sampled_from(["contract", "usage", "period", "events", "charge", "properties"]),
    key=st.text(max_size=20)
    | st.sampled_from(["amount", "currency", "start", "end", "charge_model", "id"]),
    value=JSON_VALUES,
)
def test_preview_of_a_near_valid_file_is_an_invoice_or_an_error_line(
    section: str, key: str, value: Any
) -> None:
    document = _document()
    target = {
        "charge": document["contract"]["charges"][1],
        "properties": document["contract"]["charges"][1]["properties"],
    }.get(section, document.get(section))
    if isinstance(target, dict):
        target[key] = value
    else:
        document[section] = value
    _no_traceback(json.dumps(document).encode())
