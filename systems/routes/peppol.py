"""Peppol access point stand-in: take a UBL document for sending, once per document id.

No AS4 here: the document is kept as received (`GET /peppol/outbound/{id}/document` gives
back its bytes, so what was sent can be checked), and a transmission id is given back.
"""

from fastapi import APIRouter, Response, status

from systems.crud import peppol
from systems.deps import SessionDep
from systems.errors import NotFound
from systems.limits import StrictJsonRoute
from systems.models.peppol import OutboundIn, TransmissionPublic

router = APIRouter(prefix="/peppol", tags=["peppol"], route_class=StrictJsonRoute)


@router.post("/outbound", responses={200: {"description": "Already sent: the same transmission"}})
def send(session: SessionDep, body: OutboundIn, response: Response) -> TransmissionPublic:
    transmission, created = peppol.send(session=session, data=body)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return peppol.transmission_public(transmission)


@router.get("/outbound")
def list_outbound(session: SessionDep, receiver_id: str | None = None) -> list[TransmissionPublic]:
    found = peppol.list_transmissions(session=session, receiver_id=receiver_id)
    return [peppol.transmission_public(transmission) for transmission in found]


@router.get("/outbound/{document_id}")
def get_outbound(session: SessionDep, document_id: str) -> TransmissionPublic:
    transmission = peppol.get_transmission(session=session, document_id=document_id)
    if transmission is None:
        raise NotFound(f"no transmission of document {document_id}")
    return peppol.transmission_public(transmission)


@router.get(
    "/outbound/{document_id}/document",
    response_class=Response,
    responses={200: {"content": {"application/xml": {}}, "description": "The UBL as sent"}},
)
def get_outbound_document(session: SessionDep, document_id: str) -> Response:
    transmission = peppol.get_transmission(session=session, document_id=document_id)
    if transmission is None:
        raise NotFound(f"no transmission of document {document_id}")
    return Response(content=transmission.document, media_type=transmission.content_type)
