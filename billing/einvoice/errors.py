"""What can go wrong making or checking an e-invoice; every error names a field or a rule."""

EINVOICE_INVALID = "einvoice_invalid"


class EInvoiceError(ValueError):
    """The document cannot be made: `field` (customer.tax_id) lacks what `rule` (an
    EN 16931 rule id such as BR-AE-02) needs. Nothing is rendered."""

    code = EINVOICE_INVALID

    def __init__(self, field: str, rule: str, message: str) -> None:
        super().__init__(f"{field}: {message} ({rule})")
        self.field = field
        self.rule = rule
        self.message = message


class DocumentRejected(ValueError):
    """A rendered document fails fatal EN 16931 rules: it must not be sent."""

    code = EINVOICE_INVALID

    def __init__(self, document: str, rule_ids: list[str]) -> None:
        super().__init__(f"{document} fails EN 16931 rules {', '.join(rule_ids)}")
        self.document = document
        self.rule_ids = rule_ids


class UnreadableXml(ValueError):
    """The input is not XML, or not a UBL or CII invoice."""
