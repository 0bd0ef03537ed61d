"""ERP routes: post an invoice once, read postings back, journal totals."""

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from systems.crud import erp
from systems.deps import SessionDep
from systems.errors import NotFound
from systems.limits import StrictJsonRoute
from systems.models.erp import InvoiceHistoryItem, JournalTotals, PostingPublic, PostingRequest

router = APIRouter(prefix="/erp", tags=["erp"], route_class=StrictJsonRoute)


@router.post(
    "/postings",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "Already posted with the same content: the stored posting"},
        409: {"description": "Already posted with different content"},
    },
)
def post_posting(session: SessionDep, body: PostingRequest, response: Response) -> PostingPublic:
    posting, created = erp.post_invoice(session=session, request=body, now=datetime.now(UTC))
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return erp.posting_public(posting)


@router.get("/postings")
def list_postings(
    session: SessionDep,
    contract_id: str | None = None,
    customer_id: str | None = None,
    erp_document_id: Annotated[
        str | None, Query(description="The ERP's document number, as on the invoice")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[PostingPublic]:
    postings = erp.list_postings(
        session=session,
        contract_id=contract_id,
        customer_id=customer_id,
        erp_document_id=erp_document_id,
        limit=limit,
    )
    return [erp.posting_public(posting) for posting in postings]


# Posting keys contain ':' (q2c:C-1001:cycle:2026-10-01:2026-11-01) and may contain '/'.
@router.get("/postings/{posting_key:path}")
def get_posting(session: SessionDep, posting_key: str) -> PostingPublic:
    posting = erp.get_posting(session=session, posting_key=posting_key)
    if posting is None:
        raise NotFound(f"posting {posting_key} not found")
    return erp.posting_public(posting)


@router.get("/customers/{customer_id}/invoice-history")
def invoice_history(
    session: SessionDep,
    customer_id: str,
    limit: Annotated[int, Query(ge=1, le=100)] = 12,
    before: Annotated[date | None, Query(description="Only periods starting before")] = None,
) -> list[InvoiceHistoryItem]:
    return erp.invoice_history(session=session, customer_id=customer_id, limit=limit, before=before)


@router.get("/journal/totals")
def journal_totals(session: SessionDep) -> JournalTotals:
    return erp.journal_totals(session=session)
