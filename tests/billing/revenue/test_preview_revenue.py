"""`q2c preview --format json` shows each document's revenue schedule."""

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from cli import build_app

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "preview"
runner = CliRunner()


def _preview(path: Path) -> Any:
    return runner.invoke(build_app(), ["preview", str(path), "--format", "json"])


def _annual(tmp_path: Path, **charge: Any) -> Path:
    document = {
        "contract": {
            "id": "ctr-rev-annual",
            "customer_id": "cus-rev",
            "currency": "USD",
            "plan": "annual",
            "billing_interval": "annual",
            "start_date": "2026-01-01",
            "charges": [
                {
                    "id": "platform",
                    "description": "Platform, annual",
                    "kind": "recurring",
                    "properties": {"amount": "12000.00"},
                    **charge,
                }
            ],
        },
        "period": {"start": "2026-01-01", "end": "2027-01-01"},
    }
    path = tmp_path / "annual.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_annual_fee_schedule_is_twelve_months_of_1000(tmp_path: Path) -> None:
    result = _preview(_annual(tmp_path, recognition="ratable_monthly"))
    assert result.exit_code == 0, result.stderr
    schedule = json.loads(result.stdout)["revenue_schedule"]
    assert schedule == [
        {"line_id": "L1", "month": f"2026-{m:02d}", "amount": "1000.00"} for m in range(1, 13)
    ]


def test_amendment_credit_note_schedule_is_negative() -> None:
    # upgrade-halfway.json: 10.00 a month to 20.00 a month on 16 June 2026 (30 days, 15
    # left): the credit note gives back 10 × 15 / 30 = 5.00 of June, the invoice bills
    # 20 × 15 / 30 = 10.00 of June; both recognised daily, all in June.
    result = _preview(EXAMPLES / "upgrade-halfway.json")
    assert result.exit_code == 0, result.stderr
    by_type = {d["document_type"]: d["revenue_schedule"] for d in json.loads(result.stdout)}
    assert by_type["credit_note"] == [{"line_id": "C1", "month": "2026-06", "amount": "-5.00"}]
    assert by_type["invoice"] == [{"line_id": "L1", "month": "2026-06", "amount": "10.00"}]


def test_unknown_method_is_named_and_nothing_printed(tmp_path: Path) -> None:
    result = _preview(_annual(tmp_path, recognition="when_paid"))
    assert result.exit_code == 1
    assert "contract.charges.0.recognition" in result.stderr
    assert result.stdout == ""
