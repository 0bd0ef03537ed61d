"""From the audit database to a report, and to a file."""

from datetime import UTC, datetime
from pathlib import Path

from ops.report.figures import Report, SourceIncidents, compute
from ops.report.render import html
from starters.intake_http.incidents import incidents_by_source
from starters.intake_http.store import IntakeStore
from workers.audit.store import AuditStore


def load(*, url: str, since: datetime | None = None, now: datetime | None = None) -> Report:
    store = AuditStore(url=url)
    intake = IntakeStore(url=url)  # the intake logs its requests in the same database
    try:
        store.create()
        intake.create()
        # Every row: the receivables need what was owed before the window began; `compute`
        # keeps the window for the rest.
        handoffs = store.read()
        requests = intake.requests(since=since)
    finally:
        store.dispose()
        intake.dispose()
    report = compute(handoffs, now=now or datetime.now(UTC), since=since)
    report.intake_sources = [
        SourceIncidents(
            source=source.source,
            requests=source.requests,
            accepted=source.accepted,
            refused=dict(sorted(source.by_outcome.items())),
        )
        for source in incidents_by_source(requests)
    ]
    return report


def write_html(report: Report, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html(report), encoding="utf-8")
    return path.resolve()
