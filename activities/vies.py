"""The optional online check of EU VAT numbers against VIES, the EU's VAT Information
Exchange System (REST API: `POST {base}/check-vat-number`).

VIES is often down for one member state or another, so it never fails the activity: an
answer it cannot give becomes status "unverified", and the policy (`block_unverified`)
decides whether that blocks the run or only warns the approver.
"""

from typing import Any

import httpx
from pydantic import BaseModel, Field
from stdnum import exceptions as stdnum_errors
from stdnum.eu import vat as eu_vat
from temporalio import activity

from billing.customer_checks import VatCheckStatus, vat_check_problems
from schemas.runs import Problem

# VIES answers for the member states (Greece as EL) and for Northern Ireland (XI).
_VIES_PREFIXES = frozenset({*(cc.upper() for cc in eu_vat.MEMBER_STATES), "EL"}) - {"GR"}


class ViesCheckInput(BaseModel):
    vat_number: str = Field(description="As printed, with its prefix: DE136695976")


class ViesCheckResult(BaseModel):
    status: VatCheckStatus
    vat_number: str = Field(description="Compact, with its prefix")
    country_code: str = ""
    name: str = Field(default="", description="The registered name VIES returned, if any")
    address: str = ""
    request_date: str = ""
    request_identifier: str = Field(
        default="", description="VIES consultation number, proof of the check for an audit"
    )
    detail: str = Field(default="", description="Why the status is not 'valid'")
    problems: list[Problem] = Field(
        default_factory=list, description="What the policy makes of the status"
    )


class ViesActivities:
    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        base_url: str,
        block_unverified: bool = False,
    ) -> None:
        self._client = client
        self._base_url = base_url.rstrip("/")
        self._block_unverified = block_unverified

    @activity.defn
    async def check_vat(self, input: ViesCheckInput) -> ViesCheckResult:
        number = "".join(input.vat_number.split()).upper()
        prefix = number[:2]
        if prefix not in _VIES_PREFIXES:
            return self._result("not_applicable", number, detail="not an EU or XI VAT number")
        try:
            number = eu_vat.validate(number)
        except stdnum_errors.ValidationError as error:
            return self._result("invalid", number, detail=f"fails the format check: {error}")
        return await self._ask(prefix, number)

    async def _ask(self, prefix: str, number: str) -> ViesCheckResult:
        url = f"{self._base_url}/check-vat-number"
        try:
            response = await self._client.post(
                url, json={"countryCode": prefix, "vatNumber": number[2:]}
            )
        except httpx.HTTPError as error:
            return self._result("unverified", number, detail=f"VIES unreachable: {error!r}")
        if response.status_code >= 400:
            return self._result(
                "unverified", number, detail=f"VIES answered HTTP {response.status_code}"
            )
        try:
            body: Any = response.json()
        except ValueError:
            return self._result("unverified", number, detail="VIES answered with no JSON")
        if not isinstance(body, dict):
            return self._result("unverified", number, detail="VIES answered an unknown shape")
        errors = body.get("errorWrappers") or []
        if errors or not isinstance(body.get("valid"), bool):
            codes = [str(e.get("error", "")) for e in errors if isinstance(e, dict)]
            why = ", ".join(code for code in codes if code) or "no verdict in the answer"
            return self._result("unverified", number, detail=f"VIES: {why}")
        return self._result(
            "valid" if body["valid"] else "invalid",
            number,
            detail="" if body["valid"] else "VIES: not a registered VAT number",
            country_code=str(body.get("countryCode", prefix)),
            name=_text(body.get("name")),
            address=_text(body.get("address")),
            request_date=_text(body.get("requestDate")),
            request_identifier=_text(body.get("requestIdentifier")),
        )

    def _result(
        self, status: VatCheckStatus, number: str, *, detail: str = "", **found: str
    ) -> ViesCheckResult:
        problems = vat_check_problems(
            status=status,
            vat_number=number,
            detail=detail,
            block_unverified=self._block_unverified,
        )
        return ViesCheckResult(
            status=status, vat_number=number, detail=detail, problems=problems, **found
        )


def _text(value: object) -> str:
    # VIES returns "---" where a member state does not disclose a field.
    text = "" if value is None else str(value).strip()
    return "" if text == "---" else text
