"""A rating workload for `q2c bench rating`: mixed contracts rated in a loop on one core."""

import time
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from billing.charges.priced import clear_cache
from billing.rating import rate_contract
from schemas.contract import Contract
from schemas.usage import UsageSummary

PERIOD_START, PERIOD_END = date(2026, 3, 1), date(2026, 4, 1)


@dataclass(frozen=True, slots=True)
class BenchResult:
    invoices: int
    seconds: float
    """Wall-clock time."""
    cpu_seconds: float
    """CPU time of this process: steadier than the wall clock on a shared machine."""
    total_billed: Decimal

    @property
    def per_second(self) -> float:
        return self.invoices / self.seconds

    @property
    def per_cpu_second(self) -> float:
        return self.invoices / self.cpu_seconds


def _contract(number: int) -> Contract:
    tiers = [
        {"from_value": 0, "to_value": 10_000, "per_unit_amount": "0.0010", "flat_amount": "10"},
        {"from_value": 10_001, "to_value": 50_000, "per_unit_amount": "0.0008", "flat_amount": "0"},
        {"from_value": 50_001, "to_value": None, "per_unit_amount": "0.0006", "flat_amount": "0"},
    ]
    return Contract.model_validate(
        {
            "id": f"bench-{number}",
            "customer_id": f"cust-{number}",
            "currency": ("USD", "EUR", "JPY", "BHD")[number % 4],
            "plan": "bench",
            "start_date": "2025-01-15",
            "charges": [
                {
                    "id": "platform",
                    "description": "Platform",
                    "kind": "recurring",
                    "properties": {"amount": f"{500 + number}.00"},
                    "pay_in_advance": number % 2 == 0,
                },
                {
                    "id": "api",
                    "description": "API calls",
                    "kind": "usage",
                    "metric": "calls",
                    "properties": {"amount": "0.002"},
                },
                {
                    "id": "storage",
                    "description": "Storage",
                    "kind": "usage",
                    "charge_model": "graduated",
                    "metric": "gb",
                    "properties": {"graduated_ranges": tiers},
                },
                {
                    "id": "seats",
                    "description": "Seats",
                    "kind": "usage",
                    "charge_model": "volume",
                    "metric": "seats",
                    "properties": {"volume_ranges": tiers},
                },
                {
                    "id": "sms",
                    "description": "SMS",
                    "kind": "usage",
                    "charge_model": "package",
                    "metric": "sms",
                    "properties": {"amount": "5.00", "package_size": 100, "free_units": 100},
                },
            ],
        }
    )


def workload(size: int = 100) -> list[tuple[Contract, UsageSummary]]:
    """`size` distinct contracts, each with its own usage."""
    return [
        (
            _contract(n),
            UsageSummary(
                contract_id=f"bench-{n}",
                period_start=PERIOD_START,
                period_end=PERIOD_END,
                quantities={
                    "calls": Decimal(1_000 * n + 7),
                    "gb": Decimal(f"{n * 731}.5"),
                    "seats": Decimal(n * 997),
                    "sms": Decimal(n * 13),
                },
            ),
        )
        for n in range(size)
    ]


def run(invoices: int, *, size: int = 100, cold: bool = False) -> BenchResult:
    """Rate `invoices` invoices round-robin over the workload; time the rating alone.

    `cold` forgets the parsed charge properties before each invoice, as when every contract
    arrives freshly deserialised (the draft-invoice activity); warm reuses them.
    """
    pairs = workload(size)
    total = Decimal(0)
    started, cpu_started = time.perf_counter(), time.process_time()
    for number in range(invoices):
        contract, usage = pairs[number % size]
        if cold:
            clear_cache()
        invoice = rate_contract(
            contract=contract,
            usage=usage,
            period_start=PERIOD_START,
            period_end=PERIOD_END,
            invoice_id=f"inv-{number}",
        )
        total += invoice.total
    return BenchResult(
        invoices=invoices,
        seconds=time.perf_counter() - started,
        cpu_seconds=time.process_time() - cpu_started,
        total_billed=total,
    )
