"""`q2c receivables` against a systems service of its own (real HTTP): invoices posted to the
ERP with due dates, part paid or written off, aged by hand at the end of 2026-11-30."""

import json
import subprocess
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from cli import build_app
from ops.receivables import age
from schemas.payments import OpenItem, OpenItems
from tests.conftest import SystemsService, running_systems
from tests.systems.test_erp import _request

AS_OF = "2026-11-30"


def _invoice(
    key: str, *, customer: str, total: str, due: str, currency: str = "USD"
) -> dict[str, Any]:
    body = _request(key, customer_id=customer, subtotal=total, tax="0.00", currency=currency)
    body["invoice"]["issue_date"] = "2026-07-01"
    body["invoice"]["due_date"] = due
    return body


def _post(http: httpx.Client, path: str, body: dict[str, Any]) -> Any:
    response = http.post(path, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def _cash(key: str, document: str, amount: str, kind: str, currency: str) -> dict[str, Any]:
    return {
        "posting_key": f"{key}:{kind.replace('_', '-')}:r1",
        "kind": kind,
        "document": document,
        "amount": amount,
        "currency": currency,
        "value_date": "2026-11-20",
        "reference": "r1",
    }


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SystemsService]:
    with running_systems(tmp_path_factory.mktemp("receivables")) as service:
        with httpx.Client(
            base_url=service.url, headers={"Authorization": f"Bearer {service.token}"}
        ) as http:
            rows = [
                # key, customer, total, due date, currency, (payment or write-off, amount)
                ("k:a", "CU-1001", "544.40", "2026-11-25", "USD", ("payment", "200.00")),
                ("k:b", "CU-1007", "100.00", "2026-12-10", "USD", None),
                ("k:c", "CU-1008", "300.00", "2026-08-01", "USD", None),
                ("k:d", "CU-1008", "50.00", "2026-10-31", "USD", None),
                ("k:e", "CU-1008", "20.00", "2026-10-30", "USD", None),
                ("k:f", "CU-1002", "1000.00", "2026-09-15", "EUR", ("write_off", "100.00")),
                ("k:g", "CU-1007", "75.00", "2026-09-01", "USD", ("payment", "75.00")),
            ]
            for key, customer, total, due, currency, settled in rows:
                posted = _post(
                    http,
                    "/erp/postings",
                    _invoice(key, customer=customer, total=total, due=due, currency=currency),
                )
                if settled is not None:
                    kind, amount = settled
                    cash = _cash(key, posted["erp_document_id"], amount, kind, currency)
                    _post(http, "/erp/cash-postings", cash)
        yield service


def _receivables(service: SystemsService, *args: str) -> subprocess.CompletedProcess[str]:
    """The command in this process (CliRunner sets the environment for the call only): the
    same code, exit code and output as `q2c receivables`, without a Python start each."""
    env = {"Q2C_SYSTEMS_URL": service.url, "Q2C_SYSTEMS_TOKEN": service.token}
    result = CliRunner().invoke(build_app(), ["receivables", *args], env=env)
    return subprocess.CompletedProcess(
        ["q2c", "receivables", *args], result.exit_code, result.stdout, result.stderr
    )


def test_open_items_are_aged_per_currency(ledger: SystemsService) -> None:
    run = _receivables(ledger, "--json", "--as-of", AS_OF)
    assert run.returncode == 0, run.stderr
    body = json.loads(run.stdout)
    # Days past due at the end of 2026-11-30, by hand:
    #   a 11-25 -> 5 (1-30), 544.40 - 200.00 paid = 344.40
    #   b 12-10 -> -10 (current), 100.00
    #   c 08-01 -> 121 (90+), 300.00
    #   d 10-31 -> 30 (1-30, its upper edge), 50.00
    #   e 10-30 -> 31 (31-60, its lower edge), 20.00
    #   f 09-15 -> 76 (61-90), 1000.00 - 100.00 written off = 900.00 EUR
    #   g paid in full: not listed
    eur, usd = body["by_currency"]  # in currency order
    assert usd == {
        "currency": "USD",
        "buckets": {
            "current": "100.00",
            "1-30": "394.40",
            "31-60": "20.00",
            "61-90": "0.00",
            "90+": "300.00",
        },
        "total": "814.40",
        "items": 5,
    }
    assert eur["currency"] == "EUR" and eur["total"] == "900.00" and eur["items"] == 1
    assert eur["buckets"]["61-90"] == "900.00"
    assert [(i["customer_id"], i["days_past_due"], i["bucket"]) for i in body["items"]] == [
        ("CU-1008", 121, "90+"),
        ("CU-1002", 76, "61-90"),
        ("CU-1008", 31, "31-60"),
        ("CU-1008", 30, "1-30"),
        ("CU-1001", 5, "1-30"),
        ("CU-1007", -10, "current"),
    ]
    assert sum(Decimal(i["open_amount"]) for i in body["items"] if i["currency"] == "USD") == (
        Decimal("814.40")
    )


def test_the_table_shows_the_buckets(ledger: SystemsService) -> None:
    run = _receivables(ledger, "--as-of", AS_OF)
    assert run.returncode == 0, run.stderr
    assert "Receivables by age at the end of 2026-11-30" in run.stdout
    usd = next(line for line in run.stdout.splitlines() if "USD" in line and "394.40" in line)
    assert all(figure in usd for figure in ("100.00", "20.00", "300.00", "814.40"))


def test_a_bad_date_and_an_unreachable_erp_are_refused(tmp_path: Path) -> None:
    dead = SystemsService.in_folder(tmp_path)  # never started: nothing listens on its port
    bad = _receivables(dead, "--as-of", "30/11/2026")
    assert bad.returncode == 2 and "--as-of: '30/11/2026' is not a date" in bad.stderr
    down = _receivables(dead, "--as-of", AS_OF)
    assert down.returncode == 1 and "could not read the receivables" in down.stderr


def test_a_wrong_token_is_refused_with_the_answer(ledger: SystemsService) -> None:
    stranger = SystemsService(
        url=ledger.url, token="wrong", port=ledger.port, database_url=ledger.database_url
    )
    run = _receivables(stranger, "--json")
    assert run.returncode == 1 and "/crm/customers: 401" in run.stderr


def test_a_credit_note_without_a_due_date_is_current_and_owed_back() -> None:
    def item(document: str, total: str, open_amount: str, due: date | None) -> OpenItem:
        return OpenItem(
            erp_document_id=document,
            posting_key=f"k:{document}",
            document_type="credit_note" if due is None else "invoice",
            invoice_id=document,
            currency="USD",
            total=Decimal(total),
            paid=Decimal(0),
            refunded=Decimal(0),
            written_off=Decimal(0),
            open_amount=Decimal(open_amount),
            due_date=due,
        )

    owed = [
        item("INV-1", "100.00", "100.00", date(2026, 10, 31)),
        item("CN-1", "-20.00", "-20.00", None),
    ]
    aged = age(
        [OpenItems(customer_id="CU", items=owed, open_by_currency={}, credit_balance={})],
        as_of=date(2026, 11, 30),
    )
    # INV-1 is 30 days late (1-30); CN-1 has no due date, so current, and negative.
    assert [(i.erp_document_id, i.days_past_due, i.bucket) for i in aged.items] == [
        ("INV-1", 30, "1-30"),
        ("CN-1", 0, "current"),
    ]
    [usd] = aged.by_currency
    assert (usd.buckets["current"], usd.buckets["1-30"], usd.total, usd.items) == (
        Decimal("-20.00"),
        Decimal("100.00"),
        Decimal("80.00"),
        2,
    )


_amounts = st.decimals(min_value=Decimal("-500"), max_value=Decimal("5000"), places=2).filter(
    lambda d: d != 0
)


@given(
    st.lists(
        st.tuples(
            _amounts, st.integers(min_value=-60, max_value=400), st.sampled_from(["USD", "EUR"])
        ),
        max_size=30,
    )
)
def test_the_buckets_add_up_to_what_is_open(rows: list[tuple[Decimal, int, str]]) -> None:
    as_of = date(2026, 11, 30)
    items = [
        OpenItem(
            erp_document_id=f"INV-{n}",
            posting_key=f"k:{n}",
            document_type="invoice",
            invoice_id=f"i{n}",
            currency=currency,
            total=abs(amount),
            paid=Decimal(0),
            refunded=Decimal(0),
            written_off=Decimal(0),
            open_amount=amount,
            due_date=as_of - timedelta(days=late),
        )
        for n, (amount, late, currency) in enumerate(rows)
    ]
    aged = age(
        [OpenItems(customer_id="CU", items=items, open_by_currency={}, credit_balance={})],
        as_of=as_of,
    )
    for row in aged.by_currency:
        mine = [a for a, _, c in rows if c == row.currency]
        assert row.total == sum(mine, Decimal(0)) == sum(row.buckets.values(), Decimal(0))
        assert row.items == len(mine)
    # Edges written out from the bucket names: 0 current, 30 in 1-30, 31 in 31-60, 91 in 90+.
    for item in aged.items:
        late = item.days_past_due
        expected = (
            "current"
            if late <= 0
            else "1-30"
            if late <= 30
            else "31-60"
            if late <= 60
            else "61-90"
            if late <= 90
            else "90+"
        )
        assert item.bucket == expected
