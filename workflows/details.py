"""The run's current details, as the Web UI shows them (Markdown).

The first line says what the run waits for and from whom; the next says how to answer it,
with the exact signal and JSON to type. The invoice, the reasons, who may decide and the
refused attempts follow, so a person needs no other tab to act."""

from datetime import datetime
from decimal import Decimal

from schemas.money import minor_unit
from schemas.runs import RunDocument, RunState, RunStatus

REASON_LABELS = {
    "non_standard_clause": "non-standard clause",
    "price_override": "manual price",
    "amount_threshold": "amount at or over the approval threshold",
    "change_vs_previous": "large change against the previous invoice",
    "anomaly": "unusual amount or usage",
    "validation_warning": "master-data warning",
    "tax_uncertain": "uncertain tax",
}
"""A route reason's code as a few words for the headline; the full sentence is below it."""

DECISION_JSON = '{"approver": "you@company.com", "comment": "why"}'
RESOLVE_UPHELD_JSON = '{"outcome": "upheld", "by": "you@company.com", "comment": "why"}'
RESOLVE_CREDITED_JSON = (
    '{"outcome": "credited", "credit_amount": "40.00", "by": "you@company.com", "comment": "why"}'
)
SEND = "*More Actions → Send a Signal*"
SEP = " · "


def money(amount: Decimal, currency: str) -> str:
    """ "18,000.00 USD": grouped, to the currency's minor unit (display only)."""
    try:
        places = minor_unit(currency)
    except ValueError:
        return f"{amount} {currency}".strip()
    return f"{amount:,.{places}f} {currency}"


def when(moment: datetime) -> str:
    """ "7 Dec 2026 09:00 UTC"."""
    return f"{moment.day} {moment:%b %Y %H:%M} UTC"


def delivery_line(document: RunDocument) -> str:
    """ "Invoice RE-1 delivered by email to a@b.example at 2026-11-01 09:00 UTC, <id>"."""
    sent = document.delivery
    assert sent is not None
    return (
        f"{document.label.capitalize()} `{document.erp_document_id}` delivered by {sent.channel} "
        f"to {sent.recipient} at {sent.sent_at:%Y-%m-%d %H:%M} UTC, `{sent.message_id}`"
    )


def _of(status: RunStatus) -> str:
    """ " of INV-000001": the posted invoice a collection step is about."""
    document = status.document("invoice")
    return f" of {document.erp_document_id}" if document and document.erp_document_id else ""


def headline(status: RunStatus) -> list[str]:
    """What the run waits for, and how to answer it: the first lines a person reads."""
    approval = status.approval
    total = money(status.total, status.currency) if status.total is not None else ""
    if status.state is RunState.AWAITING_APPROVAL and approval is not None:
        asked = " or ".join(approval.approvers) or "nobody: no approver's limit covers it"
        needed = approval.approvals_needed - len(approval.approved_by)
        collection = status.collection
        if collection is not None:
            what = "write-off approval"
            subject = f"write off {money(collection.amount_due, collection.currency)}" + _of(status)
            reasons = f"unpaid since {when(collection.due_at)}"
        else:
            what = "approval"
            subject = total
            labels = [
                REASON_LABELS.get(r.code, r.code.replace("_", " ")) for r in status.route_reasons
            ]
            reasons = ", ".join(dict.fromkeys(labels))
        count = f"{needed} more {what}s" if needed > 1 else what
        first = SEP.join(
            p
            for p in (
                f"**Awaiting {count}** by {asked}",
                subject,
                reasons,
                f"due {when(approval.due_at)}" + (" (escalated)" if approval.escalated_at else ""),
            )
            if p
        )
        return [
            first,
            f"**To decide:** {SEND}, choose `approve` or `reject`, type `{DECISION_JSON}` "
            "with your own e-mail, and submit.",
        ]
    collection = status.collection
    if status.state is RunState.DISPUTED and collection is not None and collection.dispute:
        dispute = collection.dispute
        first = SEP.join(
            (
                f"**Disputed** since {when(dispute.opened_at)}: {dispute.reason}",
                f"{money(collection.amount_due, collection.currency)} due{_of(status)}",
                "dunning paused",
            )
        )
        return [
            first,
            f"**To resolve:** {SEND}, choose `resolve_dispute`, type `{RESOLVE_UPHELD_JSON}` "
            f"(dunning resumes) or `{RESOLVE_CREDITED_JSON}` (a credit note; the rest stays due).",
        ]
    if status.state is RunState.NEEDS_ATTENTION:
        code = status.reason_code or "unknown"
        return [
            f"**Needs attention** · `{code}` · {status.reason}",
            "The run has stopped at this step; nothing after it was done. Fix what it names, "
            "where it names it (docs/operations.md, docs/delivery.md: each failure and its code).",
        ]
    if status.state.collecting and collection is not None:
        return [
            SEP.join(
                p
                for p in (
                    f"**{status.state.value}**",
                    f"{money(collection.amount_due, collection.currency)} due "
                    f"{when(collection.due_at)}",
                    f"dunning level {collection.level}" if collection.level else "",
                )
                if p
            )
        ]
    return [SEP.join(p for p in (f"**{status.state.value}**", total) if p)]


def _documents(status: RunStatus) -> list[str]:
    lines: list[str] = []
    for document in status.documents:
        shown = document.invoice
        cur = shown.currency
        lines.append(
            f"{document.label.capitalize()} `{shown.invoice_id}`, {shown.period_start} to "
            f"{shown.period_end} (exclusive): subtotal {money(shown.subtotal, cur)} + tax "
            f"{money(shown.tax_total, cur)} = **{money(shown.total, cur)}** "
            f"({len(shown.lines)} lines)"
        )
        rows = ["| line | quantity | amount |", "|---|---:|---:|"]
        rows.extend(
            f"| {line.description} | {'' if line.quantity is None else line.quantity} "
            f"| {money(line.amount, cur)} |"
            for line in shown.lines
        )
        lines.append("\n".join(rows))
    return lines


def current_details(status: RunStatus) -> str:
    lines = headline(status)
    lines.append(
        f"Contract `{status.contract_id}`"
        + (f" · customer `{status.customer_id}`" if status.customer_id else "")
        + (f" · risk {status.risk_level}" if status.risk_level else "")
    )
    lines.extend(_documents(status))
    if status.reason and status.state is not RunState.NEEDS_ATTENTION:  # else the headline's
        lines.append(f"Reason: `{status.reason_code}` {status.reason}")
    if status.route_reasons:
        lines.append("Needs approval because:")
        lines.extend(f"- `{r.code}` {r.message}" for r in status.route_reasons)
    approval = status.approval
    if status.state is RunState.AWAITING_APPROVAL and approval is not None:
        needed = approval.approvals_needed - len(approval.approved_by)
        asked = ", ".join(approval.approvers) or "no approver in the policy covers this total"
        given = f" (given by {', '.join(approval.approved_by)})" if approval.approved_by else ""
        lines.append(
            f"Who may decide: {asked} (tier {approval.tier}). Needs {needed} more approval(s)"
            f"{given}; waiting since {when(approval.waiting_since)}, due "
            f"{when(approval.due_at)}" + (" (escalated)" if approval.escalated_at else "")
        )
    for decision in status.decisions:
        lines.append(f"Decided: {decision.verdict} by {decision.approver} ({decision.comment})")
    if status.refused:
        lines.append(f"Refused attempts: {max(status.refused_count, len(status.refused))}")
        lines.extend(f"- {when(r.at)}: {r.cause}" for r in status.refused[-5:])
    lines.extend(
        f"{d.erp_label}: `{d.erp_document_id}`" for d in status.documents if d.erp_document_id
    )
    lines.extend(delivery_line(d) for d in status.documents if d.delivery is not None)
    return "\n\n".join(lines)
