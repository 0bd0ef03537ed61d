"""`q2c demo` and `q2c dev` as a user runs them, on free loopback ports."""

import asyncio
import email
import email.policy
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client, ScheduleSpec
from typer.testing import CliRunner

from cli import build_app
from devstack.stack import DevStack, Ports, port_in_use

Q2C = [sys.executable, "-m", "cli"]
ANY_PORT = ["--temporal-port", "0", "--ui-port", "0", "--systems-port", "0", "--outbox-port", "0"]
ANY_PORT += ["--codec-port", "0"]

pytestmark = pytest.mark.e2e


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "Q2C_HOME": str(home), "PYTHONUNBUFFERED": "1"}


def _table_rows(output: str) -> list[list[str]]:
    """The demo table's cells, each a row's cell joined across the lines it wraps onto."""
    rows: list[list[list[str]]] = []
    for line in output.splitlines():
        if not line.startswith("│"):
            continue
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if cells[0].startswith("q2c:"):
            rows.append([[c] for c in cells])
        elif rows:
            for parts, cell in zip(rows[-1], cells, strict=True):
                parts.append(cell)
    return [[" ".join(p for p in parts if p) for parts in row] for row in rows]


def test_demo_settles_every_run_as_expected_and_exits_zero(tmp_path: Path) -> None:
    started = time.monotonic()
    done = subprocess.run(
        [*Q2C, "demo", *ANY_PORT],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # It does not wait for the bank transfers, due in 30 days.
    assert time.monotonic() - started < 120
    assert (
        "demo: 18 runs, 16 posted, 1 awaiting approval, 1 needs attention, 0 failed" in done.stdout
    )
    rows = {":".join(row[0].split(":")[1:3]): row for row in _table_rows(done.stdout)}
    states = {key: row[3] for key, row in rows.items()}
    # The seed data: CU-1001, CU-1002 and CU-1012 pay by card or debit (due on receipt in the
    # demo), CU-1003's card declines twice, everyone else pays by bank transfer in 30 days.
    assert states == {
        "C-1001:cycle": "Paid",
        "C-1002:cycle": "Paid",
        "C-1003:cycle": "Overdue",
        "C-1004:cycle": "AwaitingPayment",
        "C-1005:cycle": "AwaitingPayment",
        "C-1006:cycle": "AwaitingPayment",
        "C-1007:cycle": "AwaitingPayment",
        "C-1014:cycle": "AwaitingPayment",
        "C-1009:cycle": "AwaitingApproval",
        "C-1010:cycle": "NeedsAttention",
        "C-1011:cycle": "AwaitingPayment",
        "C-1012:cycle": "Paid",
        "C-1002:milestone": "Paid",
        "C-1016:amendment": "AwaitingPayment",
        # docs/calendar.md's annual contract: activation, first-quarter upgrade, go-live, Q3.
        "C-1017:activation": "AwaitingPayment",
        "C-1017:amendment": "AwaitingPayment",
        "C-1017:milestone": "AwaitingPayment",
        "C-1017:cycle": "AwaitingPayment",
    }
    # 6000 × 45/92 = 2934.78 at activation; 7500 for Q4 and 50,000 calls × 0.002 = 100 at the
    # Q3 close; each with 19 % German VAT.
    assert rows["C-1017:activation"][2].startswith("3492.39 EUR")
    assert rows["C-1017:cycle"][2].startswith("9044.00 EUR")
    assert "┃ payment " in done.stdout
    assert "declined ×1 (insufficient_funds), next try" in rows["C-1003:cycle"][4]
    assert "bank transfer due" in rows["C-1014:cycle"][4]
    assert rows["C-1001:cycle"][4].startswith("paid ")
    assert "nothing new started" in done.stdout  # the redelivered event
    assert "q2c%3AC-1009%3Acycle" in done.stdout  # the link to the run awaiting approval
    assert (tmp_path / "temporal.db").exists()
    # Posted: 10 cycle closes and the go-live milestone, one invoice each, and the upgrade's
    # credit note and invoice: 13 documents. C-1014's goes over Peppol, 12 by e-mail. C-1017:
    # its activation, upgrade (credit note and invoice), go-live and Q3 close: 5 more e-mails.
    assert "delivered: 17 e-mail(s)" in done.stdout
    assert "1 document(s) at the Peppol access point" in done.stdout
    policy = email.policy.default
    messages = [
        email.message_from_bytes(path.read_bytes(), _class=EmailMessage, policy=policy)
        for path in sorted((tmp_path / "outbox").glob("*.eml"))
    ]
    assert len(messages) == 17
    assert len({m["Message-ID"] for m in messages}) == 17
    assert "facturen@tulip.example" not in {m["To"].addresses[0].addr_spec for m in messages}
    runner = CliRunner()
    for message in messages:
        attached = {str(a.get_filename()): a for a in message.iter_attachments()}
        assert sorted(Path(name).suffix for name in attached) == [".pdf", ".xml"], attached
        for name, part in attached.items():
            path = tmp_path / "attached" / name
            path.parent.mkdir(exist_ok=True)
            content = part.get_payload(decode=True)
            assert isinstance(content, bytes)
            path.write_bytes(content)
            # The XML itself, and the CII the Factur-X PDF carries.
            checked = runner.invoke(build_app(), ["validate", str(path)])
            assert checked.exit_code == 0, (name, checked.output)


def test_dev_runs_until_interrupted_and_stops_every_process(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [*Q2C, "dev", *ANY_PORT],
        env={**_env(tmp_path), "Q2C_SELLER_TIME_ZONE": "America/New_York"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        lines.append(line)
        if "Ctrl-C stops everything" in line or not line:
            break
    output = "".join(lines)
    assert "q2c dev stack up" in output, output
    temporal_port = int(re.search(r"Temporal\s+127\.0\.0\.1:(\d+)", output).group(1))  # type: ignore[union-attr]
    systems_url = re.search(r"systems\s+(http://\S+)", output).group(1)  # type: ignore[union-attr]
    assert httpx.get(f"{systems_url}/healthz", timeout=5).status_code == 200
    assert port_in_use(temporal_port)
    outbox_port = int(re.search(r"outbox\s+smtp://127\.0\.0\.1:(\d+)", output).group(1))  # type: ignore[union-attr]
    assert port_in_use(outbox_port)
    codec_url = re.search(r"codec\s+(http://\S+)", output).group(1)  # type: ignore[union-attr]
    assert httpx.get(f"{codec_url}/healthz", timeout=5).status_code == 200
    # The Web UI calls that codec server: the dev server was started with its endpoint.
    ui_url = re.search(r"Web UI\s+(http://\S+)", output).group(1)  # type: ignore[union-attr]
    ui_settings = httpx.get(f"{ui_url}/api/v1/settings", timeout=10).json()
    assert ui_settings["Codec"]["Endpoint"] == codec_url
    # The monthly revenue recognition is scheduled at start, in the seller's time zone.
    assert "revenue   created q2c-revenue-recognition" in output, output
    spec = asyncio.run(_recognition_spec(f"127.0.0.1:{temporal_port}"))
    assert spec.time_zone_name == "America/New_York"
    [calendar] = spec.calendars
    assert [(r.start, r.end or r.start) for r in calendar.day_of_month] == [(1, 1)]
    assert [(r.start, r.end or r.start) for r in calendar.hour] == [(0, 0)]

    process.send_signal(signal.SIGINT)
    try:
        code = process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        logs = {p.name: p.read_text()[-2000:] for p in (tmp_path / "logs").glob("*.log")}
        pytest.fail(f"q2c dev did not stop: {process.stdout.read()!r}; logs: {logs}")
    assert code == 0
    process.stdout.close()
    for _ in range(50):
        if not port_in_use(temporal_port):
            break
        time.sleep(0.2)
    assert not port_in_use(temporal_port)
    assert not port_in_use(outbox_port)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{codec_url}/healthz", timeout=2)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{systems_url}/healthz", timeout=2)


async def _recognition_spec(address: str) -> ScheduleSpec:
    client = await Client.connect(address)
    description = await client.get_schedule_handle("q2c-revenue-recognition").describe()
    return description.schedule.spec


def test_the_dev_server_ignores_q2c_tracing_settings(tmp_path: Path) -> None:
    # The server refuses OTEL_TRACES_EXPORTER=console; the stack keeps q2c's settings to q2c.
    stack = DevStack(
        home=tmp_path, ports=Ports.random(), extra_env={"OTEL_TRACES_EXPORTER": "console"}
    )
    try:
        stack.start_server()
        stack.wait_for_port("temporal", stack.ports.temporal, timeout=60)
    finally:
        stack.stop()


def test_the_dev_server_keeps_its_file_in_write_ahead_log_mode(tmp_path: Path) -> None:
    # The journal mode is written into the file itself: SQLite reads it back as "wal".
    stack = DevStack(home=tmp_path, ports=Ports.random())
    try:
        stack.start_server()
        stack.wait_for_port("temporal", stack.ports.temporal, timeout=60)
    finally:
        stack.stop()
    with closing(sqlite3.connect(tmp_path / "temporal.db")) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
