"""Insert-or-update by primary key, safe against a concurrent insert of the same key."""

from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel

Row = TypeVar("Row", bound=SQLModel)


def upsert(
    *, session: Session, model: type[Row], key: dict[str, Any], fields: dict[str, Any]
) -> tuple[Row, bool]:
    """Store `fields` in the row whose one-column primary key is `key`; True when it is new."""
    [identity] = key.values()
    for attempt in range(2):
        row = session.get(model, identity)
        created = row is None
        if row is None:
            row = model.model_validate(key | fields)
        else:
            row.sqlmodel_update(fields)
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            # Someone inserted the same key meanwhile: update their row instead.
            session.rollback()
            if attempt:
                raise
            continue
        session.refresh(row)
        return row, created
    raise AssertionError("unreachable")
