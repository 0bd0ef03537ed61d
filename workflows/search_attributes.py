"""The search attributes a run keeps current, so the UI's list can filter on them."""

from temporalio.common import SearchAttributeKey

Q2C_STATUS = SearchAttributeKey.for_keyword("Q2CStatus")
CUSTOMER_ID = SearchAttributeKey.for_keyword("CustomerId")
CONTRACT_ID = SearchAttributeKey.for_keyword("ContractId")
INVOICE_TOTAL = SearchAttributeKey.for_float("InvoiceTotal")
RISK_LEVEL = SearchAttributeKey.for_keyword("RiskLevel")
APPROVAL_DUE_AT = SearchAttributeKey.for_datetime("ApprovalDueAt")
DUE_AT = SearchAttributeKey.for_datetime("DueAt")
"""When the invoice a run collects falls due."""
AMOUNT_DUE = SearchAttributeKey.for_float("AmountDue")
"""What is still owed on it (a float for filtering; the status holds the exact amount)."""
DUNNING_LEVEL = SearchAttributeKey.for_keyword("DunningLevel")
"""The last dunning level reached."""
REASON_CODE = SearchAttributeKey.for_keyword("ReasonCode")
"""Why a run needs attention (`delivery_failed`, `customer_invalid`, ...): a view per cause."""

ALL = (
    Q2C_STATUS,
    CUSTOMER_ID,
    CONTRACT_ID,
    INVOICE_TOTAL,
    RISK_LEVEL,
    APPROVAL_DUE_AT,
    DUE_AT,
    AMOUNT_DUE,
    DUNNING_LEVEL,
    REASON_CODE,
)
"""Registered by `q2c server`, the compose file and the tests."""
