"""The `properties` of each charge model, typed, as Lago publishes them.

Amounts arrive as JSON strings or integers and become `Decimal`; a float is refused because
it has already lost precision. Range bounds are integers. Unknown keys are refused so a
misspelt property never prices at a silent default.
"""

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, Strict

from schemas.money import Amount

NonNegative = Annotated[Amount, Field(ge=0)]
Count = Annotated[int, Strict(), Field(ge=0)]


class _Properties(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StandardProperties(_Properties):
    """`standard` usage (amount per unit), and the flat amount of recurring and one-time fees."""

    amount: NonNegative


class PriceRange(_Properties):
    """One tier of `graduated_ranges` or `volume_ranges`."""

    from_value: Count
    to_value: Count | None
    per_unit_amount: NonNegative = Decimal(0)
    flat_amount: NonNegative = Decimal(0)


class GraduatedProperties(_Properties):
    graduated_ranges: list[PriceRange] = Field(min_length=1)


class VolumeProperties(_Properties):
    volume_ranges: list[PriceRange] = Field(min_length=1)


class PackageProperties(_Properties):
    amount: NonNegative
    package_size: Annotated[int, Strict(), Field(gt=0)]
    free_units: Count = 0


class PercentageProperties(_Properties):
    """`rate` is a percent (1.2 means 1.2%); `fixed_amount` is charged per paid event."""

    rate: NonNegative
    fixed_amount: NonNegative = Decimal(0)
    free_units_per_events: Count | None = None
    free_units_per_total_aggregation: NonNegative | None = None
    per_transaction_min_amount: NonNegative | None = None
    per_transaction_max_amount: NonNegative | None = None


class PercentageRange(_Properties):
    """One tier of `graduated_percentage_ranges`: a percent rate and a flat fee per tier."""

    from_value: Count
    to_value: Count | None
    rate: NonNegative
    flat_amount: NonNegative = Decimal(0)


class GraduatedPercentageProperties(_Properties):
    graduated_percentage_ranges: list[PercentageRange] = Field(min_length=1)
