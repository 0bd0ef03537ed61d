"""The fault rules in force, kept so that they survive a restart of the service."""

from sqlmodel import Field, SQLModel


class StoredFaultRule(SQLModel, table=True):
    __tablename__ = "admin_fault_rule"

    system: str = Field(primary_key=True, max_length=16)
    rule: str = Field(description="The rule as JSON (systems.faults.FaultRule)")
