"""The search attributes a run keeps current, so the UI's list can filter on them."""

from temporalio.common import SearchAttributeKey

Q2C_STATUS = SearchAttributeKey.for_keyword("Q2CStatus")
CUSTOMER_ID = SearchAttributeKey.for_keyword("CustomerId")
CONTRACT_ID = SearchAttributeKey.for_keyword("ContractId")
INVOICE_TOTAL = SearchAttributeKey.for_float("InvoiceTotal")
RISK_LEVEL = SearchAttributeKey.for_keyword("RiskLevel")
APPROVAL_DUE_AT = SearchAttributeKey.for_datetime("ApprovalDueAt")

ALL = (Q2C_STATUS, CUSTOMER_ID, CONTRACT_ID, INVOICE_TOTAL, RISK_LEVEL, APPROVAL_DUE_AT)
"""Registered by `q2c server`, the compose file and the tests."""
