"""How many documents per second one core renders and checks: UBL + CII, both through the
official rules, and the Factur-X PDF. The stylesheets are compiled before the clock starts
(once per process, as in the worker)."""

import statistics
import time
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from billing.einvoice.render import render_documents
from billing.einvoice.validation import warm_up
from billing.tax import Seller, apply_tax, default_engine
from schemas.customer import Address, Customer
from schemas.invoice import Invoice, InvoiceLine

_LINES = (
    ("Platform fee", "500.00"),
    ("API calls", "240.00"),
    ("Storage GB", "107.53"),
    ("Seats", "120.00"),
    ("SMS", "10.00"),
    ("Payment processing", "0.70"),
)


def sample() -> tuple[Invoice, Customer]:
    """A German business's monthly invoice: six charges, a discount, 19 % VAT."""
    lines = [
        InvoiceLine(
            line_id=f"L{index}",
            charge_id=f"charge-{index}",
            description=name,
            charge_model="standard",
            amount=Decimal(amount),
            unrounded_amount=Decimal(amount),
            rule="bench",
            period_start=date(2026, 10, 1),
            period_end=date(2026, 11, 1),
        )
        for index, (name, amount) in enumerate(_LINES, 1)
    ]
    lines.append(
        InvoiceLine(
            line_id="L7",
            charge_id="launch",
            description="Launch discount 10%",
            charge_model="discount",
            amount=Decimal("-97.82"),
            unrounded_amount=Decimal("-97.823"),
            rule="bench",
        )
    )
    subtotal = sum((line.amount for line in lines), Decimal(0))
    customer = Customer(
        id="CU-BENCH",
        name="Berlin GmbH",
        email="ap@berlin.example",
        tax_id="DE136695976",
        currency="EUR",
        address=Address(
            line1="Unter den Linden 1", city="Berlin", postal_code="10117", country="DE"
        ),
    )
    draft = Invoice(
        invoice_id="bench",
        contract_id="C-BENCH",
        customer_id=customer.id,
        currency="EUR",
        period_start=date(2026, 10, 1),
        period_end=date(2026, 11, 1),
        lines=lines,
        subtotal=subtotal,
        tax_total=Decimal(0),
        total=subtotal,
    )
    taxed = apply_tax(draft, default_engine().evaluate(draft, seller=Seller(), customer=customer))
    return taxed, customer


@dataclass(frozen=True)
class DocumentFigures:
    documents: int
    rounds: int
    per_cpu_second: float
    """Median over the rounds: documents per CPU second of this process (per core)."""
    per_second: float
    """Median over the rounds: documents per wall-clock second."""
    median_ms: float
    """Median wall-clock time of one document (render, validate both, PDF)."""
    warm_up_seconds: float


def run(documents: int, *, rounds: int) -> DocumentFigures:
    started = time.perf_counter()
    warm_up()
    warm = time.perf_counter() - started
    invoice, customer = sample()
    seller = Seller()
    per_cpu: list[float] = []
    per_wall: list[float] = []
    each: list[float] = []
    for _ in range(rounds):
        cpu, wall = time.process_time(), time.perf_counter()
        for number in range(documents):
            one = time.perf_counter()
            render_documents(
                invoice,
                number=f"RE-{number:06d}",
                issue_date=date(2026, 11, 1),
                seller=seller,
                customer=customer,
            )
            each.append(time.perf_counter() - one)
        per_cpu.append(documents / max(time.process_time() - cpu, 1e-9))
        per_wall.append(documents / max(time.perf_counter() - wall, 1e-9))
    return DocumentFigures(
        documents=documents,
        rounds=rounds,
        per_cpu_second=statistics.median(per_cpu),
        per_second=statistics.median(per_wall),
        median_ms=statistics.median(each) * 1000,
        warm_up_seconds=warm,
    )
