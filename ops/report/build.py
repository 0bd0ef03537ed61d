"""From the audit database to a report, and to a file."""

from datetime import UTC, datetime
from pathlib import Path

from ops.report.figures import Report, compute
from ops.report.render import html
from workers.audit.store import AuditStore


def load(*, url: str, since: datetime | None = None, now: datetime | None = None) -> Report:
    store = AuditStore(url=url)
    try:
        store.create()
        handoffs = store.read(since=since)
    finally:
        store.dispose()
    return compute(handoffs, now=now or datetime.now(UTC), since=since)


def write_html(report: Report, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html(report), encoding="utf-8")
    return path.resolve()
