"""ERP cash routes: payments, refunds and write-offs posted once, read back, open items."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from systems.crud import erp_cash
from systems.deps import SessionDep
from systems.errors import NotFound
from systems.limits import StrictJsonRoute
from systems.models.erp_cash import CashPostingPublic, CashPostingRequest, OpenItems

router = APIRouter(prefix="/erp", tags=["erp"], route_class=StrictJsonRoute)


@router.post(
    "/cash-postings",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "Already posted with the same content: the stored posting"},
        404: {"description": "No such document"},
        409: {"description": "Already posted with different content"},
        422: {"description": "Another currency than the document's, or an amount it cannot take"},
    },
)
def post_cash(
    session: SessionDep, body: CashPostingRequest, response: Response
) -> CashPostingPublic:
    posting, created = erp_cash.post_cash(session=session, request=body, now=datetime.now(UTC))
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return erp_cash.cash_posting_public(posting)


@router.get("/cash-postings")
def list_cash_postings(
    session: SessionDep,
    document: str | None = None,
    customer_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[CashPostingPublic]:
    postings = erp_cash.list_cash_postings(
        session=session, document=document, customer_id=customer_id, limit=limit
    )
    return [erp_cash.cash_posting_public(posting) for posting in postings]


# Posting keys contain ':' (<run id>:payment:<provider reference>) and may contain '/'.
@router.get("/cash-postings/{posting_key:path}")
def get_cash_posting(session: SessionDep, posting_key: str) -> CashPostingPublic:
    posting = erp_cash.get_cash_posting(session=session, posting_key=posting_key)
    if posting is None:
        raise NotFound(f"cash posting {posting_key} not found")
    return erp_cash.cash_posting_public(posting)


@router.get("/customers/{customer_id}/open-items")
def open_items(
    session: SessionDep,
    customer_id: str,
    include_settled: Annotated[
        bool, Query(alias="all", description="Also list settled documents")
    ] = False,
) -> OpenItems:
    return erp_cash.open_items(
        session=session, customer_id=customer_id, include_settled=include_settled
    )
