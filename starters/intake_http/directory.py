"""What the intake asks the systems of record: does the CRM know a contract (and whose it is),
and which posting key has an ERP document number. Both answer None when the systems cannot
tell."""

import logging
from urllib.parse import quote

import httpx

logger = logging.getLogger("q2c.intake")


class SystemsDirectory:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def contract_customer(self, contract_id: str) -> str | bool | None:
        """False: the CRM has no such contract; else its customer id (True when the answer
        names none); None: the CRM could not tell."""
        try:
            response = await self._client.get(f"/crm/contracts/{quote(contract_id, safe='')}")
        except httpx.HTTPError as error:
            logger.warning(
                "CRM unreachable, the run will check contract %s: %s", contract_id, error
            )
            return None
        if response.status_code == 404:
            return False
        if not response.is_success:
            return None
        try:
            customer = response.json().get("customer_id")
        except (ValueError, AttributeError):  # not a JSON object: known, but whose is unsaid
            return True
        return customer if isinstance(customer, str) and customer else True

    async def posting_key(self, invoice_number: str) -> str | None:
        try:
            response = await self._client.get(
                "/erp/postings", params={"erp_document_id": invoice_number, "limit": 1}
            )
            response.raise_for_status()
        except httpx.HTTPError as error:
            logger.warning("ERP lookup of %s failed: %s", invoice_number, error)
            return None
        found = response.json()
        return str(found[0]["posting_key"]) if found else None
