"""The fault rules in force, in the service's database: set through `/admin/faults` or
`Q2C_SYSTEMS_FAULTS`, they hold after a restart until they are cleared."""

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from systems.faults import FaultRule
from systems.models.faults import StoredFaultRule


def load_rules(*, engine: Engine) -> list[FaultRule]:
    with Session(engine) as session:
        rows = session.exec(select(StoredFaultRule)).all()
        return [FaultRule.model_validate_json(row.rule) for row in rows]


def save_rules(*, engine: Engine, rules: list[FaultRule]) -> None:
    """Replace the stored rules with `rules` (one per system), in one transaction."""
    with Session(engine) as session:
        session.execute(delete(StoredFaultRule))
        session.add_all(
            StoredFaultRule(system=rule.system, rule=rule.model_dump_json()) for rule in rules
        )
        session.commit()
