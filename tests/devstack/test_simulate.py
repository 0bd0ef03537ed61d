"""`q2c collections simulate`: the real workflow on the time-skipping server, against a
systems service of its own, driven by a scenario file; bad scenarios refused with the field."""

import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli import build_app

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "collections"


def _simulate(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", "collections", "simulate", str(path), *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.fixture
def refused() -> Iterator[Any]:
    """The command run in this process, for a scenario it refuses before any simulation
    starts: the same code and exit code as `_simulate` without a Python start of its own
    each (the simulations themselves, and one refusal, still run as a process)."""
    q2c = logging.getLogger("q2c")
    level = q2c.level  # the command quiets q2c's log for the run's notifications

    def run(path: Path) -> tuple[int, str]:
        result = CliRunner().invoke(build_app(), ["collections", "simulate", str(path)])
        return result.exit_code, " ".join(result.stderr.split())

    yield run
    q2c.setLevel(level)


def _write(tmp_path: Path, scenario: dict[str, Any]) -> Path:
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(scenario))
    return path


def _rows(output: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return [(r["at"], r["state"], r["level"], r["action"]) for r in output["timeline"]]


def test_bank_transfer_paid_on_day_20_past_due_is_paid_after_two_reminders() -> None:
    run = _simulate(EXAMPLES / "bank_transfer_paid_day_20.json", "--format", "json")
    assert run.returncode == 0, run.stderr
    output = json.loads(run.stdout)
    assert set(output) == {"timeline", "final_state", "amount_due"}
    # By hand from the example: issued 2026-03-01, net 30 -> due 2026-03-31 00:00 UTC.
    # Levels at +1 and +15 days -> 2026-04-01 and 2026-04-15 at midnight; the second
    # reminder also notifies the owner. The transfer of the full 1200.00 arrives on
    # 2026-04-20 (20 days past due) at 12:00, the hour events happen.
    first, *rest = _rows(output)
    assert first[0].startswith("2026-03-01T") and first[1:] == ("AwaitingPayment", "", "collecting")
    assert rest == [
        ("2026-04-01T00:00:00Z", "Overdue", "reminder", "reminder"),
        ("2026-04-15T00:00:00Z", "Overdue", "second_reminder", "reminder"),
        ("2026-04-15T00:00:00Z", "Overdue", "second_reminder", "notify_owner"),
        ("2026-04-20T12:00:00Z", "Overdue", "second_reminder", "payment_received"),
        ("2026-04-20T12:00:00Z", "Overdue", "", "paid"),
    ]
    assert output["final_state"] == "Paid" and output["amount_due"] == "0.00"


def test_a_card_declined_twice_is_charged_on_the_third_attempt() -> None:
    run = _simulate(EXAMPLES / "card_declined_twice.json", "--format", "json")
    assert run.returncode == 0, run.stderr
    output = json.loads(run.stdout)
    # Issued 2026-05-01, net 14 -> due 2026-05-15. The shipped policy charges on days
    # 0, 3, 5 after it: 05-15 and 05-18 decline, 05-20 pays; the reminder at +1 (05-16)
    # goes out between the declines.
    assert _rows(output)[1:] == [
        ("2026-05-15T00:00:00Z", "AwaitingPayment", "", "charge_declined"),
        ("2026-05-16T00:00:00Z", "Overdue", "reminder", "reminder"),
        ("2026-05-18T00:00:00Z", "Overdue", "reminder", "charge_declined"),
        ("2026-05-20T00:00:00Z", "Overdue", "reminder", "charged"),
        ("2026-05-20T00:00:00Z", "Overdue", "reminder", "payment_received"),
        ("2026-05-20T00:00:00Z", "Overdue", "", "paid"),
    ]
    assert output["final_state"] == "Paid" and output["amount_due"] == "0.00"


def test_a_dispute_pauses_dunning_and_a_credit_leaves_the_rest_due() -> None:
    run = _simulate(EXAMPLES / "dispute_then_credit.json", "--format", "json")
    assert run.returncode == 0, run.stderr
    output = json.loads(run.stdout)
    # Due 2026-07-01 (net 30 from 06-01); reminder at +1 = 07-02. The dispute is open from
    # 07-10 12:00 to 08-20 12:00 (41 days): the second reminder, due at +14 = 07-15 00:00,
    # moves by the pause to 08-25 00:00. 800 - 200 credited = 600, paid on 08-25 at 12:00.
    assert _rows(output)[1:] == [
        ("2026-07-02T00:00:00Z", "Overdue", "reminder", "reminder"),
        ("2026-07-10T12:00:00Z", "Disputed", "reminder", "dispute_opened"),
        ("2026-08-20T12:00:00Z", "Disputed", "reminder", "credit_applied"),
        ("2026-08-20T12:00:00Z", "Disputed", "reminder", "credit_note_sent"),
        ("2026-08-20T12:00:00Z", "Overdue", "reminder", "dispute_credited"),
        ("2026-08-25T00:00:00Z", "Overdue", "second_reminder", "reminder"),
        ("2026-08-25T00:00:00Z", "Overdue", "second_reminder", "notify_owner"),
        ("2026-08-25T12:00:00Z", "Overdue", "second_reminder", "payment_received"),
        ("2026-08-25T12:00:00Z", "Overdue", "", "paid"),
    ]
    assert output["final_state"] == "Paid" and output["amount_due"] == "0.00"


def test_an_unpaid_invoice_is_left_overdue_with_the_amount_due(tmp_path: Path) -> None:
    scenario = json.loads((EXAMPLES / "bank_transfer_paid_day_20.json").read_text())
    scenario["events"] = [
        {"type": "payment_received", "date": "2026-04-05", "amount": "200.00"},
    ]
    run = _simulate(_write(tmp_path, scenario), "--format", "json")
    assert run.returncode == 0, run.stderr
    output = json.loads(run.stdout)
    # 1200.00 - 200.00 paid 5 days past due; nothing else comes, the simulation runs to
    # 10 days after the last level (+15): 2026-04-25.
    assert output["final_state"] == "Overdue" and output["amount_due"] == "1000.00"
    assert [r["at"][:10] for r in output["timeline"]][-2:] == ["2026-04-15", "2026-04-15"]


def _base() -> dict[str, Any]:
    scenario: dict[str, Any] = json.loads((EXAMPLES / "bank_transfer_paid_day_20.json").read_text())
    return scenario


def _card_declines(scenario: dict[str, Any], *codes: str) -> None:
    """Card attempts that decline with `codes`, one a day from the due date (2026-03-31)."""
    scenario["invoice"]["payment_method"] = "auto_collect"
    declines = [
        {"type": "payment_failed", "date": f"2026-04-0{day}", "decline_code": code}
        for day, code in enumerate(codes, start=1)
    ]
    scenario["events"][:0] = declines


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s["invoice"].update(amount=12.5), "invoice.amount: Value error, amounts must"),
        (lambda s: s["invoice"].update(amount="12.345"), "finer than USD's minor unit"),
        (lambda s: s["invoice"].pop("currency"), "invoice.currency: Field required"),
        (lambda s: s["invoice"].update(currency="XYZ"), "'XYZ' is not an ISO 4217"),
        (lambda s: s["invoice"].update(payment_method="cheque"), "invoice.payment_method"),
        (
            lambda s: s["events"].append({"type": "payment_failed", "date": "2026-04-21"}),
            "events.1.type: payment_failed needs invoice.payment_method auto_collect",
        ),
        (
            lambda s: s["events"].insert(0, {"type": "refund", "date": "2026-04-02"}),
            "events.0: Input tag 'refund' found using 'type' does not match",
        ),
        (
            lambda s: s["events"].append(
                {"type": "payment_received", "date": "2026-04-10", "amount": "1.00"}
            ),
            "events.1.date: 2026-04-10 comes before the event above it",
        ),
        (
            lambda s: s["events"].append(
                {"type": "dispute_resolved", "date": "2026-05-01", "outcome": "credited"}
            ),
            "amount: a credited dispute needs the amount to credit",
        ),
        (
            lambda s: s["policy"]["versions"][0]["levels"].reverse(),
            "policy.versions.0.levels: Value error, days_past_due must increase",
        ),
        (
            lambda s: s["policy"]["versions"][0].update(effective_from="2027-01-01"),
            "policy: no dunning policy was in force on 2026-03-31",
        ),
        (
            lambda s: s["events"][0].update(date="2026-02-27"),
            "events.0.date: 2026-02-27 is before the issue date 2026-03-01",
        ),
        (
            lambda s: s.update(until="2026-04-19"),
            "until: 2026-04-19 is before the last event (2026-04-20)",
        ),
        (
            lambda s: _card_declines(s, "insufficient_funds", "expired_card"),
            "events: one decline_code for all payment_failed",
        ),
        (
            # The inline policy's card days are [0, 3]: due 2026-03-31, so 03-31 and 04-03.
            lambda s: _card_declines(s, "card_declined", "card_declined", "card_declined"),
            "events.2: the policy makes 2 card attempts; this is payment_failed number 3",
        ),
        (lambda s: s.update(policy="missing.toml"), "missing.toml: No such file"),
        (lambda s: s.update(extra=1), "extra: Extra inputs are not permitted"),
        (
            lambda s: s["events"][0].pop("amount"),
            "events.0.payment_received.amount: Field required",
        ),
    ],
)
def test_a_bad_scenario_is_refused_naming_the_field(
    tmp_path: Path, change: Any, message: str, refused: Any
) -> None:
    scenario = _base()
    change(scenario)
    code, stderr = refused(_write(tmp_path, scenario))
    assert code == 2, stderr
    assert message in stderr


def test_a_declined_attempt_must_fall_on_the_policys_card_day(tmp_path: Path, refused: Any) -> None:
    scenario = json.loads((EXAMPLES / "card_declined_twice.json").read_text())
    scenario["policy"] = str(ROOT / "billing" / "dunning_policy.toml")
    scenario["events"][1]["date"] = "2026-05-17"
    code, stderr = refused(_write(tmp_path, scenario))
    assert code == 2
    # Due 2026-05-15; the shipped card days are 0, 3, 5, 7: attempt 2 is on 05-18.
    assert "events.1.date: card attempt 2 falls on 2026-05-18" in stderr


def test_a_scenario_file_that_is_missing_is_refused_naming_it(tmp_path: Path) -> None:
    run = _simulate(tmp_path / "absent.json")
    assert run.returncode == 2, run.stdout + run.stderr
    assert "absent.json: No such file or directory" in " ".join(run.stderr.split())


def test_a_file_that_is_not_json_is_refused(tmp_path: Path, refused: Any) -> None:
    path = tmp_path / "scenario.json"
    path.write_text("{not json")
    code, stderr = refused(path)
    assert code == 2 and "not valid JSON" in stderr


def test_an_event_after_the_run_ended_is_refused(tmp_path: Path) -> None:
    scenario = _base()
    scenario["events"].append({"type": "dispute_opened", "date": "2026-04-21"})
    run = _simulate(_write(tmp_path, scenario))
    assert run.returncode == 2, run.stdout + run.stderr
    # Paid in full on 2026-04-20: nothing is left to dispute on the 21st.
    assert "events.1: the run had already ended Paid before 2026-04-21" in " ".join(
        run.stderr.split()
    )


def test_a_long_path_in_an_error_is_printed_whole_on_one_line(tmp_path: Path) -> None:
    # A path longer than the 80 columns of a pipe: broken across lines it could not be
    # copied back into a shell.
    missing = tmp_path / ("scenarios-of-the-month-end-close-" * 3) / "absent.json"
    run = _simulate(missing)
    assert run.returncode == 2, run.stdout + run.stderr
    assert f"{missing}: No such file or directory" in run.stderr.splitlines()[0]
