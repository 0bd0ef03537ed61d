"""One model in, one model out, for every activity."""

from datetime import date

from pydantic import BaseModel, Field

from schemas.contract import Contract
from schemas.customer import Customer
from schemas.invoice import Invoice
from schemas.money import Amount
from schemas.runs import Problem, RouteReason
from schemas.usage import UsageSummary


class ValidateCustomerInput(BaseModel):
    contract_id: str


class ValidatedCustomer(BaseModel):
    contract: Contract
    customer: Customer
    problems: list[Problem] = Field(default_factory=list)

    @property
    def blocking(self) -> list[Problem]:
        return [p for p in self.problems if p.blocking]


class FetchUsageInput(BaseModel):
    contract: Contract
    period_start: date
    period_end: date


class DraftInvoiceInput(BaseModel):
    contract: Contract
    usage: UsageSummary
    period_start: date
    period_end: date
    invoice_id: str
    milestone_id: str | None = None


class ComputeTaxInput(BaseModel):
    invoice: Invoice
    customer: Customer


class TaxedInvoice(BaseModel):
    invoice: Invoice
    uncertain: bool = False


class RouteInput(BaseModel):
    invoice: Invoice
    contract: Contract
    customer: Customer
    problems: list[Problem] = Field(default_factory=list)
    tax_uncertain: bool = False


class RouteDecision(BaseModel):
    reasons: list[RouteReason] = Field(default_factory=list)
    risk_level: str = Field(default="low", description="low, medium or high")
    approvers: list[str] = Field(default_factory=list, description="Who may decide, in order")
    policy_version: str = ""


class PostInvoiceInput(BaseModel):
    posting_key: str
    invoice: Invoice


class PostingResult(BaseModel):
    posting_key: str
    erp_document_id: str
    already_posted: bool = Field(description="True when a retry found the ERP had committed")


class ReconcileInput(BaseModel):
    posting_key: str
    invoice: Invoice


class Difference(BaseModel):
    field: str
    expected: str
    found: str


class ReconcileResult(BaseModel):
    matched: bool
    differences: list[Difference] = Field(default_factory=list)
    erp_total: Amount | None = None
