"""Rating builds its documents without validating its own values again: the result must be
exactly the document full validation makes, and outside input must still be refused."""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from billing.rating import rate_amendment, rate_contract
from billing.trusted import construct
from schemas.contract import Charge
from schemas.invoice import Invoice, InvoiceLine
from tests.billing.builders import contract, fee, usage, usage_charge
from tests.billing.test_rating_properties import CURRENCIES, PRICES, QUANTITIES, usage_charges

JAN, FEB, MAR = date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)


class _Id(str):
    """An id of a subclass of `str`: rating validates the document rather than trust it."""


def assert_same_document(fast: Invoice, validated: Invoice) -> None:
    assert fast == validated
    assert fast.model_dump_json() == validated.model_dump_json()
    assert repr(fast) == repr(validated)
    assert fast.model_fields_set == validated.model_fields_set
    for ours, theirs in zip(fast.lines, validated.lines, strict=True):
        assert type(ours) is InvoiceLine
        assert ours.model_fields_set == theirs.model_fields_set
        assert repr(ours) == repr(theirs)


def assert_valid(invoice: Invoice) -> None:
    again = Invoice.model_validate(invoice.model_dump(exclude_unset=True))
    assert_same_document(invoice, again)
    assert Invoice.model_validate_json(invoice.model_dump_json()) == invoice


@st.composite
def discounts(draw: st.DrawFn) -> list[dict[str, Any]]:
    found = []
    for number in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["percentage", "fixed_amount"]))
        value = draw(st.decimals(min_value="0", max_value="100", places=2))
        found.append({"id": f"d{number}", "description": "off", "kind": kind, "value": str(value)})
    return found


@settings(max_examples=80, deadline=None)
@given(
    charges=usage_charges(),
    fees=st.lists(st.tuples(PRICES, st.booleans()), max_size=3),
    quantities=st.lists(QUANTITIES, min_size=5, max_size=5),
    currency=CURRENCIES,
    offers=discounts(),
    commitment=st.none() | PRICES,
    start=st.dates(min_value=date(2024, 12, 1), max_value=date(2025, 1, 31)),
)
def test_a_rated_invoice_is_exactly_the_validated_one(
    charges: list[Charge],
    fees: list[tuple[Decimal, bool]],
    quantities: list[Decimal],
    currency: str,
    offers: list[dict[str, Any]],
    commitment: Decimal | None,
    start: date,
) -> None:
    fixed = [
        fee(str(amount), advance=advance, charge_id=f"fee-{n}")
        for n, (amount, advance) in enumerate(fees)
    ]
    plan = contract(
        *fixed,
        *charges,
        currency=currency,
        discounts=offers,
        start_date=start,
        minimum_commitment=None if commitment is None else str(commitment),
    )
    reported = usage(JAN, FEB, dict(zip("abcde", quantities, strict=True)))
    arguments: dict[str, Any] = {
        "contract": plan,
        "usage": reported,
        "period_start": JAN,
        "period_end": FEB,
    }
    invoice = rate_contract(**arguments, invoice_id="inv")
    assert_valid(invoice)
    assert_same_document(invoice, rate_contract(**arguments, invoice_id=_Id("inv")))


@settings(max_examples=40, deadline=None)
@given(
    old=st.lists(PRICES, min_size=1, max_size=3),
    new=st.lists(PRICES, min_size=1, max_size=3),
    day=st.integers(2, 28),
)
def test_amendment_documents_are_exactly_the_validated_ones(
    old: list[Decimal], new: list[Decimal], day: int
) -> None:
    def plan(amounts: list[Decimal]) -> Any:
        return contract(
            *(fee(str(a), advance=True, charge_id=f"f{n}") for n, a in enumerate(amounts))
        )

    arguments: dict[str, Any] = {
        "previous_contract": plan(old),
        "contract": plan(new),
        "change_date": date(2025, 2, day),
    }
    documents = rate_amendment(**arguments, invoice_id="i", credit_note_id="c")
    assert [d.document_type for d in documents] == ["invoice", "credit_note"]
    for document in documents:
        assert_valid(document)
    validated = rate_amendment(**arguments, invoice_id=_Id("i"), credit_note_id="c")
    for ours, theirs in zip(documents, validated, strict=True):
        assert_same_document(ours, theirs)


def test_milestone_invoice_is_exactly_the_validated_one() -> None:
    plan = contract(
        Charge(
            id="setup",
            description="Setup",
            kind="one_time",
            properties={"amount": "99.995"},
            milestone_id="go-live",
        )
    )
    invoice = rate_contract(
        contract=plan,
        usage=usage(JAN, FEB),
        period_start=JAN,
        period_end=FEB,
        invoice_id="inv",
        milestone_id="go-live",
    )
    assert str(invoice.total) == "100.00"
    assert_valid(invoice)


def test_an_invoice_id_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(ValidationError, match="invoice_id"):
        rate_contract(
            contract=contract(fee("10")),
            usage=usage(JAN, FEB),
            period_start=JAN,
            period_end=FEB,
            invoice_id=7,  # type: ignore[arg-type]
        )


def test_properties_changed_in_place_after_a_rating_are_parsed_again() -> None:
    ranges = [
        {"from_value": 0, "to_value": 10, "per_unit_amount": "1"},
        {"from_value": 11, "to_value": None, "per_unit_amount": "0.5"},
    ]
    plan = contract(usage_charge("graduated", {"graduated_ranges": ranges}))

    def total() -> Decimal:
        return rate_contract(
            contract=plan,
            usage=usage(JAN, FEB, {"calls": "20"}),
            period_start=JAN,
            period_end=FEB,
            invoice_id="inv",
        ).total

    assert total() == Decimal("15.00")
    plan.charges[0].properties["graduated_ranges"][1]["per_unit_amount"] = "0.25"
    assert total() == Decimal("12.50")
    plan.charges[0].properties["graduated_ranges"][1]["per_unit_amount"] = 0.25
    with pytest.raises(ValueError, match=r"graduated_ranges\.1\.per_unit_amount"):
        total()


def test_construct_needs_every_field() -> None:
    with pytest.raises(TypeError, match="unrounded_amount"):
        construct(
            InvoiceLine,
            {
                "line_id": "L1",
                "charge_id": "c",
                "description": "d",
                "charge_model": "standard",
                "quantity": None,
                "unit_amount": None,
                "amount": Decimal("1.00"),
                "rule": "r",
                "period_start": None,
                "period_end": None,
            },
            {"line_id"},
        )


class _Hooked(BaseModel):
    value: int
    seen: bool = False

    def model_post_init(self, context: Any, /) -> None:
        self.seen = True


def test_a_model_with_a_post_init_hook_is_built_by_model_construct() -> None:
    built = construct(_Hooked, {"value": 1, "seen": False}, {"value"})
    assert built.seen
    assert built.model_fields_set == {"value", "seen"}
