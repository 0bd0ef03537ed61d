"""`q2c preview` and `q2c bench rating`, driven through the real Typer app."""

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from billing.preview import PreviewRequest, preview
from cli import build_app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "preview"
runner = CliRunner()


def q2c(*args: str) -> Any:
    return runner.invoke(build_app(), list(args))


def as_json(name: str) -> Any:
    result = q2c("preview", str(EXAMPLES / name), "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def write(tmp_path: Path, document: object) -> str:
    path = tmp_path / "preview.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


def base() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((EXAMPLES / "usage-mix.json").read_text("utf-8"))
    return document


def test_usage_mix_example() -> None:
    invoice = as_json("usage-mix.json")
    assert (invoice["subtotal"], invoice["tax_total"], invoice["total"]) == (
        "900.00",
        "0.00",
        "900.00",
    )
    assert invoice["currency"] == "EUR"
    first = invoice["lines"][1]
    assert {k: first[k] for k in ("charge_model", "quantity", "unit_amount", "amount")} == {
        "charge_model": "standard",
        "quantity": "120000",
        "unit_amount": "0.002",
        "amount": "240.00",
    }
    assert all(line["rule"] for line in invoice["lines"])


def test_domestic_vat_example_is_taxed_by_the_default_engine() -> None:
    invoice = as_json("domestic-vat.json")
    assert (invoice["subtotal"], invoice["tax_total"], invoice["total"]) == (
        "900.00",
        "171.00",
        "1071.00",
    )


def test_reverse_charge_example() -> None:
    invoice = as_json("reverse-charge-eu.json")
    assert invoice["total"] == "900.00"
    assert {tax["taxability_reason"] for tax in invoice["tax_lines"]} == {"reverse_charge"}


def test_upgrade_example_prints_an_invoice_and_a_credit_note() -> None:
    documents = as_json("upgrade-halfway.json")
    assert [(d["document_type"], d["total"]) for d in documents] == [
        ("invoice", "10.00"),
        ("credit_note", "5.00"),
    ]


def test_milestone_example() -> None:
    assert as_json("milestone.json")["total"] == "7500.00"


def test_activation_example_bills_the_first_days_and_the_onboarding_fee() -> None:
    # 120 × 12/31 = 46.4516… → 46.45 for 20–31 March, plus 250.00 onboarding; usage waits.
    invoice = as_json("activation.json")
    assert [line["amount"] for line in invoice["lines"]] == ["250.00", "46.45"]
    assert (invoice["period_start"], invoice["period_end"]) == ("2026-03-20", "2026-04-01")
    assert invoice["total"] == "296.45"


def test_an_event_preview_does_not_know_is_refused(tmp_path: Path) -> None:
    document = json.loads((EXAMPLES / "activation.json").read_text("utf-8"))
    document["event"] = "contract.renewed"
    result = q2c("preview", write(tmp_path, document))
    assert result.exit_code == 1
    assert "event" in result.stderr


def test_an_activation_outside_the_first_period_names_the_period(tmp_path: Path) -> None:
    document = json.loads((EXAMPLES / "activation.json").read_text("utf-8"))
    document["period"] = {"start": "2026-04-01", "end": "2026-05-01"}
    result = q2c("preview", write(tmp_path, document))
    assert result.exit_code == 1
    assert "period.start: 2026-04-01 is not in the contract's first period" in result.stderr


def test_leap_february_example_in_yen() -> None:
    invoice = as_json("first-period-leap-february-jpy.json")
    assert [line["amount"] for line in invoice["lines"]] == ["50000", "20000", "29000", "586"]


def test_table_format_shows_lines_totals_and_rules() -> None:
    result = q2c("preview", str(EXAMPLES / "usage-mix.json"))
    assert result.exit_code == 0
    for text in ("Invoice preview", "subtotal", "total", "900.00", "rules", "L3: graduated"):
        assert text in result.stdout


def test_preview_bills_each_charge_as_computed_by_hand() -> None:
    """usage-mix.json for March 2026, every figure worked out from the file by hand."""
    request = PreviewRequest.model_validate(base())
    (invoice,) = preview(request, tax_engine=None)
    assert [(line.charge_id, line.amount) for line in invoice.lines] == [
        ("platform", Decimal("500.00")),  # in advance, for April: the whole fee
        ("api", Decimal("240.00")),  # 120000 × 0.002
        # 100 × 0 + (900 × 0.10 + 5) + 250.5 × 0.05 = 0 + 95 + 12.525 = 107.525 → half-up
        ("storage", Decimal("107.53")),
        ("seats", Decimal("120.00")),  # volume: all 20 seats in the 11+ tier at 6
        ("sms", Decimal("10.00")),  # 201 − 100 free = 101 → 2 packages of 100 × 5.00
        ("payments", Decimal("0.70")),  # 3 of 4 events free; 1.2% of 50 + 0.10
        # 1000.00 − (500 + 240 + 107.53 + 120 + 10 + 0.70 = 978.23)
        ("minimum_commitment", Decimal("21.77")),
        ("launch", Decimal("-100.00")),  # 10% of the 1000.00 billed
    ]
    assert (invoice.subtotal, invoice.tax_total, invoice.total) == (
        Decimal("900.00"),
        Decimal("0.00"),
        Decimal("900.00"),
    )


def test_invalid_example_exits_non_zero_with_the_field_path() -> None:
    result = q2c("preview", str(EXAMPLES / "invalid-overlapping-tiers.json"))
    assert result.exit_code == 1
    assert "contract.charges.0.properties.graduated_ranges.1.from_value" in result.stderr
    assert "overlaps" in result.stderr
    assert result.stdout == ""


def _set(document: dict[str, Any], path: str, value: object) -> None:
    *parents, leaf = path.split(".")
    node: Any = document
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(leaf)] = value
    else:
        node[leaf] = value


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("usage.seats", "-3", "usage.seats: -3 is negative"),
        ("usage.api_calls", 1.5, "usage.api_calls: Value error, amounts must be strings"),
        ("contract.charges.1.properties.amount", 0.002, "contract.charges.1.properties.amount"),
        ("contract.charges.2.charge_model", "dynamic", "contract.charges.2.charge_model"),
        ("contract.charges.3.currency", "USD", "charges.3.currency: USD differs from the contract"),
        ("contract.charges.1.metric", "calls", "usage.calls: is missing"),
        ("period.end", "2026-02-01", "period.end: 2026-02-01 is not after"),
        ("contract.discounts.0.value", "150", "contract.discounts.0.value"),
        ("usage.unknown", "1", None),
    ],
)
def test_bad_input_exits_non_zero_naming_the_field(
    tmp_path: Path, path: str, value: object, expected: str | None
) -> None:
    document = base()
    _set(document, path, value)
    result = q2c("preview", write(tmp_path, document), "--format", "json")
    if expected is None:
        # A quantity no charge bills is ignored unless the contract declares its metrics.
        assert result.exit_code == 0
        return
    assert result.exit_code == 1, result.stdout
    assert expected in result.stderr


def test_undeclared_metric_in_usage_is_refused(tmp_path: Path) -> None:
    document = base()
    document["contract"]["metrics"] = [
        {"code": code, "aggregation": "sum", "field_name": "value"}
        for code in ("api_calls", "storage_gb", "seats", "sms", "payment_volume")
    ]
    document["usage"]["bananas"] = "1"
    result = q2c("preview", write(tmp_path, document))
    assert result.exit_code == 1
    assert "usage.bananas: unknown metric" in result.stderr


def test_seller_without_customer_is_refused(tmp_path: Path) -> None:
    document = base()
    document["seller"] = {"country": "DE"}
    result = q2c("preview", write(tmp_path, document))
    assert result.exit_code == 1
    assert "customer: is required to compute tax" in result.stderr


def test_tax_error_is_reported(tmp_path: Path) -> None:
    document = base()
    document["seller"] = {"country": "DE"}
    document["customer"] = {"id": "x", "name": "x", "email": "x@example.com", "currency": "EUR"}
    result = q2c("preview", write(tmp_path, document))
    assert result.exit_code == 1
    assert "tax: " in result.stderr


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    missing = q2c("preview", str(tmp_path / "nope.json"))
    assert missing.exit_code == 1
    assert "nope.json" in missing.stderr
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    malformed = q2c("preview", str(broken))
    assert malformed.exit_code == 1
    assert "not valid JSON" in malformed.stderr


def test_unknown_top_level_key_is_refused(tmp_path: Path) -> None:
    document = base()
    document["usgae"] = {}
    result = q2c("preview", write(tmp_path, document))
    assert result.exit_code == 1
    assert "usgae: Extra inputs are not permitted" in result.stderr


def test_bench_rating_prints_invoices_per_second() -> None:
    result = q2c("bench", "rating", "--invoices", "300", "--contracts", "10")
    assert result.exit_code == 0, result.stderr
    assert "invoices/s" in result.stdout
