"""What the intake asks the systems of record: does the CRM know a contract, and which posting
key has an ERP document number. Both answer None when the systems cannot tell."""

import logging
from urllib.parse import quote

import httpx

logger = logging.getLogger("q2c.intake")


class SystemsDirectory:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def contract_exists(self, contract_id: str) -> bool | None:
        try:
            response = await self._client.get(f"/crm/contracts/{quote(contract_id, safe='')}")
        except httpx.HTTPError as error:
            logger.warning(
                "CRM unreachable, the run will check contract %s: %s", contract_id, error
            )
            return None
        if response.status_code == 404:
            return False
        return True if response.is_success else None

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
