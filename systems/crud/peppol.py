"""The access point's outbound queue: accept a UBL document once per document id."""

import hashlib
import uuid
from datetime import UTC, datetime
from xml.etree import ElementTree

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from systems.errors import Conflict, InvalidInput
from systems.models.peppol import OutboundIn, Transmission, TransmissionPublic

UBL_ROOTS = {
    "invoice": "{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice",
    "credit_note": "{urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2}CreditNote",
}


def _check_document(data: OutboundIn) -> None:
    """What an access point checks before it takes a document: well-formed UBL of the type
    named. (The business rules are the sender's to check.)"""
    try:
        root = ElementTree.fromstring(data.document)
    except ElementTree.ParseError as error:
        raise InvalidInput([(("body", "document"), f"not well-formed XML: {error}")]) from None
    expected = UBL_ROOTS[data.document_type]
    if root.tag != expected:
        raise InvalidInput(
            [(("body", "document"), f"the root element is {root.tag}, a {data.document_type} "
              f"is {expected}")]
        )  # fmt: skip


def get_transmission(*, session: Session, document_id: str) -> Transmission | None:
    return session.get(Transmission, document_id)


def list_transmissions(*, session: Session, receiver_id: str | None = None) -> list[Transmission]:
    query = select(Transmission).order_by(col(Transmission.received_at))
    if receiver_id is not None:
        query = query.where(col(Transmission.receiver_id) == receiver_id)
    return list(session.exec(query))


def send(*, session: Session, data: OutboundIn) -> tuple[Transmission, bool]:
    """Queue the document; True when it is new. The same document id again with the same
    receiver and bytes is the same transmission; with others, a conflict."""
    _check_document(data)
    digest = hashlib.sha256(data.document).hexdigest()
    existing = get_transmission(session=session, document_id=data.document_id)
    if existing is None:
        transmission = Transmission(
            document_id=data.document_id,
            document_type=data.document_type,
            receiver_id=data.receiver_id,
            content_type=data.content_type,
            transmission_id=str(uuid.uuid4()),
            content_sha256=digest,
            document=data.document,
            received_at=datetime.now(UTC),
        )
        session.add(transmission)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()  # sent concurrently: compare with that one
        else:
            session.refresh(transmission)
            return transmission, True
        existing = get_transmission(session=session, document_id=data.document_id)
        assert existing is not None
    return _same_or_conflict(existing, data=data, digest=digest), False


def _same_or_conflict(existing: Transmission, *, data: OutboundIn, digest: str) -> Transmission:
    differences = [
        name
        for name, stored, sent in (
            ("receiver_id", existing.receiver_id, data.receiver_id),
            ("document_type", existing.document_type, data.document_type),
            ("document", existing.content_sha256, digest),
        )
        if stored != sent
    ]
    if differences:
        raise Conflict(
            f"document {data.document_id} was sent as transmission {existing.transmission_id} "
            f"with another {', '.join(differences)}"
        )
    return existing


def transmission_public(transmission: Transmission) -> TransmissionPublic:
    public = TransmissionPublic.model_validate(transmission.model_dump(exclude={"document"}))
    if public.received_at.tzinfo is None:  # SQLite hands back naive datetimes; all are UTC
        public.received_at = public.received_at.replace(tzinfo=UTC)
    return public
