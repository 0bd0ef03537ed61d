"""Peppol access point (the sender's side, "corner 2"): documents handed over for sending.

One transmission per document id; the document is kept as received.
"""

from datetime import datetime
from typing import Annotated, Literal

import sqlalchemy as sa
from pydantic import Base64Bytes, StringConstraints
from sqlmodel import Field, SQLModel

ParticipantId = Annotated[
    str, StringConstraints(pattern=r"^[0-9]{4}:[A-Za-z0-9][A-Za-z0-9._/+-]{0,129}$")
]
"""`<four-digit ISO 6523 scheme>:<identifier>`, Peppol's iso6523-actorid-upis value."""

DocumentType = Literal["invoice", "credit_note"]


class OutboundBase(SQLModel):
    document_id: str = Field(min_length=1, max_length=64)
    document_type: DocumentType = Field(sa_type=sa.String)
    receiver_id: ParticipantId = Field(description="e.g. 0208:0123456789")
    content_type: str = Field(default="application/xml", max_length=100)


class OutboundIn(OutboundBase):
    document: Base64Bytes = Field(description="The UBL XML, base64")


class Transmission(OutboundBase, table=True):
    __tablename__ = "peppol_transmission"

    document_id: str = Field(primary_key=True, max_length=64)
    transmission_id: str = Field(unique=True, max_length=64)
    content_sha256: str = Field(max_length=64)
    document: bytes = Field(sa_type=sa.LargeBinary)
    received_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


class TransmissionPublic(OutboundBase):
    transmission_id: str
    content_sha256: str
    received_at: datetime
