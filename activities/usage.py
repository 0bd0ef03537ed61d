"""The usage platform: quantities per metric, aggregated where the usage lives."""

from datetime import date

import httpx
from pydantic import ValidationError
from temporalio import activity

from activities.errors import permanent, raise_for_status
from activities.heartbeat import heartbeating
from schemas.errors import ReasonCode
from schemas.steps import FetchUsageInput
from schemas.usage import UsageSummary


async def usage_summary(
    client: httpx.AsyncClient, *, contract_id: str, period_start: date, period_end: date
) -> UsageSummary:
    """A contract's usage in one period, per metric, as the usage platform aggregates it."""
    response = await client.get(
        "/usage/summary",
        params={
            "contract_id": contract_id,
            "period_start": period_start.isoformat(),
            "period_end": period_end.isoformat(),
        },
    )
    raise_for_status(response, system="usage")
    try:
        return UsageSummary.model_validate(response.json())
    except ValidationError as error:
        raise permanent(ReasonCode.BAD_REQUEST, f"usage summary: {error}") from None


class UsageActivities:
    def __init__(self, *, client: httpx.AsyncClient) -> None:
        self._client = client

    @activity.defn
    async def fetch_usage(self, input: FetchUsageInput) -> UsageSummary:
        metrics = set(input.metrics)
        if not metrics:
            return UsageSummary(
                contract_id=input.contract_id,
                period_start=input.period_start,
                period_end=input.period_end,
            )
        async with heartbeating():
            summary = await usage_summary(
                self._client,
                contract_id=input.contract_id,
                period_start=input.period_start,
                period_end=input.period_end,
            )
        missing = sorted(metrics - summary.quantities.keys())
        if missing:
            # A metric the platform does not know is a setup error, never a silent zero.
            raise permanent(
                ReasonCode.RATING_INVALID,
                f"usage.quantities: the usage platform reports no metric {', '.join(missing)}",
            )
        return summary
