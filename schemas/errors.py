"""Reason codes: why a run stopped, or why a step failed. One list, used everywhere."""

from enum import StrEnum

from pydantic import ValidationError


class ReasonCode(StrEnum):
    CUSTOMER_NOT_FOUND = "customer_not_found"
    CONTRACT_NOT_FOUND = "contract_not_found"
    CUSTOMER_INVALID = "customer_invalid"
    CONTRACT_INVALID = "contract_invalid"
    RATING_INVALID = "rating_invalid"
    TAX_UNSUPPORTED = "tax_unsupported"
    CONFIGURATION = "configuration"
    BAD_REQUEST = "bad_request"
    POSTING_CONFLICT = "posting_conflict"
    RECONCILE_MISMATCH = "reconcile_mismatch"
    APPROVAL_EXPIRED = "approval_expired"
    REJECTED = "rejected"
    EVENT_CONFLICT = "event_conflict"
    PAYMENT_CONFLICT = "payment_conflict"
    CURRENCY_MISMATCH = "currency_mismatch"
    DOCUMENT_NOT_FOUND = "document_not_found"
    DELIVERY_FAILED = "delivery_failed"
    EINVOICE_INVALID = "einvoice_invalid"
    REVENUE_INVALID = "revenue_invalid"


def field_problems(
    error: ValidationError, *, prefix: str = "", whole: str = "", sep: str = "; "
) -> str:
    """Each problem in `error` as "field.path: why", the path after `prefix`, joined by `sep`;
    `whole` names the input itself where a check has no field (a model's own validator)."""
    return sep.join(
        f"{prefix}{'.'.join(str(part) for part in e['loc']) or whole}: {e['msg']}"
        for e in error.errors()
    )
