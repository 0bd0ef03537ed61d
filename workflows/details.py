"""The run's current details, as the Web UI shows them (Markdown)."""

from schemas.runs import RunDocument, RunState, RunStatus


def delivery_line(document: RunDocument) -> str:
    """ "Invoice RE-1 delivered by email to a@b.example at 2026-11-01 09:00 UTC, <id>"."""
    sent = document.delivery
    assert sent is not None
    return (
        f"{document.label.capitalize()} `{document.erp_document_id}` delivered by {sent.channel} "
        f"to {sent.recipient} at {sent.sent_at:%Y-%m-%d %H:%M} UTC, `{sent.message_id}`"
    )


def current_details(status: RunStatus) -> str:
    lines = [f"**{status.state.value}** · contract `{status.contract_id}`"]
    if status.customer_id:
        lines.append(f"Customer: `{status.customer_id}`")
    for document in status.documents:
        shown = document.invoice
        lines.append(
            f"{document.label.capitalize()}: subtotal {shown.subtotal} + tax {shown.tax_total} "
            f"= **{shown.total} {shown.currency}** ({len(shown.lines)} lines)"
        )
    if status.reason:
        lines.append(f"Reason: `{status.reason_code}` {status.reason}")
    if status.route_reasons:
        lines.append("Needs approval because:")
        lines.extend(f"- `{r.code}` {r.message}" for r in status.route_reasons)
    approval = status.approval
    if status.state is RunState.AWAITING_APPROVAL and approval is not None:
        needed = approval.approvals_needed - len(approval.approved_by)
        asked = ", ".join(approval.approvers) or "no approver in the policy covers this total"
        lines.append(
            f"Needs {needed} more approval(s), tier {approval.tier}: {asked}. "
            f"Due {approval.due_at:%Y-%m-%d %H:%M} UTC"
            + (" (escalated)" if approval.escalated_at else "")
        )
        lines.append(
            'Send the signal `approve` or `reject` with `{"approver": "you@company.com", '
            '"comment": "..."}`.'
        )
    for decision in status.decisions:
        lines.append(f"Decided: {decision.verdict} by {decision.approver} ({decision.comment})")
    if status.refused:
        lines.append(f"Refused attempts: {max(status.refused_count, len(status.refused))}")
        lines.extend(f"- {r.cause}" for r in status.refused[-5:])
    lines.extend(
        f"{d.erp_label}: `{d.erp_document_id}`" for d in status.documents if d.erp_document_id
    )
    lines.extend(delivery_line(d) for d in status.documents if d.delivery is not None)
    return "\n\n".join(lines)
