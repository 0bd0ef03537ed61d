"""The report as a terminal table, JSON, or one self-contained HTML page with inline SVG
charts (nothing is fetched when it opens)."""

import math
from collections.abc import Callable, Sequence
from decimal import Decimal
from html import escape

from rich.console import Console, Group
from rich.table import Table

from billing.receivables import AGING_BUCKETS as PAST_DUE_BUCKETS
from billing.receivables import ReceivablesFigures
from ops.report.figures import AGING_BUCKETS, Durations, Rate, Report

SYSTEM_COLOURS = {
    "crm": "#4e79a7",
    "usage": "#59a14f",
    "billing": "#f28e2b",
    "tax": "#b07aa1",
    "erp": "#e15759",
    "approver": "#76b7b2",
    "webhook": "#9c755f",
    "delivery": "#edc948",
    "q2c": "#7f7f7f",
}
UNITS = (("d", 86400), ("h", 3600), ("min", 60), ("s", 1))
AGING_COLOURS = ("#59a14f", "#edc948", "#f28e2b", "#e15759")
PAST_DUE_COLOURS = ("#59a14f", "#edc948", "#f28e2b", "#e15759", "#9c2a2a")
NICE_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 21600,
              43200, 86400, 172800, 432000, 864000, 1728000, 4320000, 8640000)  # fmt: skip


def human(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def percent(value: Rate) -> str:
    return "–" if value.rate is None else f"{value.rate:.0%} ({value.count}/{value.total})"


def histogram(values: list[float], *, max_bins: int = 8) -> list[tuple[str, int]]:
    """Equal-width bins of a round width, labelled by their range in one unit."""
    if not values:
        return []
    low, top = min(values), max(values)
    step = next((s for s in NICE_STEPS if (top - low) / s < max_bins - 1), NICE_STEPS[-1])
    first = math.floor(low / step)  # start at the first bin with a value in it
    bins = min(math.floor(top / step) - first + 1, max_bins)
    counts = [0] * bins
    for value in values:
        counts[min(math.floor(value / step) - first, bins - 1)] += 1
    unit, size = next((u, n) for u, n in UNITS if step >= n)
    return [
        (f"{_number((first + i) * step / size)}–{_number((first + i + 1) * step / size)} {unit}",
         count)
        for i, count in enumerate(counts)
    ]  # fmt: skip


def _number(value: float) -> str:
    return f"{value:g}"


# Terminal -------------------------------------------------------------------------------


def table(report: Report) -> Group:
    since = report.since.date().isoformat() if report.since else "the beginning"
    summary = Table(title=f"q2c report since {since}", show_header=False)
    summary.add_column("figure")
    summary.add_column("value", justify="right")
    rows = [
        ("runs", str(report.runs)),
        ("posted · needs attention · rejected · open",
         f"{report.posted} · {report.needs_attention} · {report.rejected} · {report.open}"),
        ("delivered", str(report.delivered)),
        ("cycle time median · p90", _pair(report.cycle_time)),
        ("straight-through rate", percent(report.straight_through)),
        ("first-pass accuracy", percent(report.first_pass_accuracy)),
        ("approval wait median · p90", _pair(report.approval_wait)),
    ]  # fmt: skip
    for name, value in rows:
        summary.add_row(name, value)
    lines = _terminal_table(
        "cycle time by product line",
        ["product line", "posted", "median", "p90"],
        [
            [x.product_line, str(x.count), human(x.median_seconds), human(x.p90_seconds)]
            for x in report.cycle_time_by_product_line
        ],
    )
    causes = _terminal_table(
        "exceptions",
        ["reason", "source system", "count"],
        [[e.reason_code, e.source_system, str(e.count)] for e in report.exceptions],
    )
    undelivered = _terminal_table(
        "delivery failures",
        ["reason", "count"],
        [[f.reason_code, str(f.count)] for f in report.delivery_failures],
    )
    incidents = _terminal_table(
        "integration incidents",
        ["system", "retries", "failures"],
        [[i.system, str(i.retries), str(i.failures)] for i in report.incidents],
    )
    sources = _terminal_table(
        "intake sources",
        ["source", "requests", "accepted", "refused"],
        [
            [s.source, str(s.requests), str(s.accepted), _refusals(s.refused)]
            for s in report.intake_sources
        ],
    )
    aging = Table(title="open items by age")
    for name in AGING_BUCKETS:
        aging.add_column(name, justify="right")
    aging.add_row(*(str(report.aging[name]) for name in AGING_BUCKETS))
    items = _terminal_table(
        "open items",
        ["workflow id", "customer", "waiting on", "age", "approval wait"],
        [
            [i.workflow_id, i.customer_id, i.waiting_on,
             human(i.age_seconds), human(i.approval_wait_seconds)]
            for i in report.open_items
        ],
    )  # fmt: skip
    skipped = _terminal_table(
        "contracts skipped by the calendar",
        ["contract", "field", "reason", "fires", "last"],
        _skipped_rows(report),
    )
    return Group(
        summary, lines, causes, undelivered, incidents, sources, aging, items, skipped,
        *_terminal_receivables(report.receivables),
    )  # fmt: skip


def _skipped_rows(report: Report) -> list[list[str]]:
    return [
        [s.contract_id, s.field, s.reason, str(s.fires), s.last_skipped_at.strftime("%Y-%m-%d")]
        for s in report.skipped_contracts
    ]


def _ratio(value: Decimal | None, unit: str) -> str:
    return "–" if value is None else f"{value}{unit}"


def _receivable_rows(figures: ReceivablesFigures) -> list[list[str]]:
    return [
        [currency, _ratio(c.dso_days, " d"), _ratio(c.cei_percent, " %"), str(c.beginning),
         str(c.sales), str(c.ending), str(c.ending_current),
         f"{c.write_offs} ({c.write_off_count})"]
        for currency, c in figures.by_currency.items()
    ]  # fmt: skip


RECEIVABLE_HEADERS = [
    "currency", "DSO", "CEI", "beginning", "credit sales", "ending", "ending current",
    "write-offs",
]  # fmt: skip


def _terminal_receivables(figures: ReceivablesFigures | None) -> list[Table]:
    if figures is None:
        return []
    title = (
        f"receivables {figures.start} – {figures.end} · dispute rate "
        f"{_ratio(figures.dispute_rate_percent, ' %')} "
        f"({figures.disputes_opened} of {figures.invoices_issued} invoices)"
    )
    by_currency = _terminal_table(title, RECEIVABLE_HEADERS, _receivable_rows(figures))
    aging = _terminal_table(
        "receivables by days past due",
        ["currency", *PAST_DUE_BUCKETS],
        [
            [currency, *(str(c.aging[name]) for name in PAST_DUE_BUCKETS)]
            for currency, c in figures.by_currency.items()
        ],
    )
    return [by_currency, aging]


def _terminal_table(title: str, headers: list[str], rows: list[list[str]]) -> Table:
    table = Table(title=title)
    for header in headers:
        table.add_column(header)
    for row in rows:
        table.add_row(*row)
    return table


def _pair(value: Durations) -> str:
    return f"{human(value.median_seconds)} · {human(value.p90_seconds)}"


def print_table(report: Report, console: Console) -> None:
    console.print(table(report))


# HTML -----------------------------------------------------------------------------------


def _columns(
    chart: str,
    title: str,
    bars: Sequence[tuple[str, float, str]],
    shown: Callable[[float], str] = lambda value: f"{value:g}",
) -> str:
    """Vertical bars with their values on top (`shown`) and labels below."""
    width, height, left, bottom, top = 560, 230, 12, 36, 18
    if not bars:
        return _empty(chart, title)
    peak = max(count for _, count, _ in bars) or 1
    slot = (width - left - 8) / len(bars)
    inner = height - bottom - top
    parts = [
        f'<line x1="{left}" y1="{top + inner}" x2="{width - 8}" y2="{top + inner}" stroke="#999"/>'
    ]
    for i, (label, count, colour) in enumerate(bars):
        h = inner * count / peak
        x = left + i * slot + slot * 0.15
        y = top + inner - h
        w = slot * 0.7
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" '
            f'fill="{colour}"><title>{escape(label)}: {shown(count)}</title></rect>'
            f'<text x="{x + w / 2:.1f}" y="{y - 4:.1f}" class="count">{shown(count)}</text>'
            f'<text x="{x + w / 2:.1f}" y="{top + inner + 18}" class="label">'
            f"{escape(label)}</text>"
        )
    return _svg(chart, title, width, height, "".join(parts))


def _rows(chart: str, title: str, bars: list[tuple[str, int, str]]) -> str:
    """Horizontal bars, one per cause, longest first."""
    if not bars:
        return _empty(chart, title)
    width, row, left = 560, 28, 210
    height = row * len(bars) + 12
    peak = max(count for _, count, _ in bars) or 1
    parts = []
    for i, (label, count, colour) in enumerate(bars):
        y = 6 + i * row
        w = (width - left - 40) * count / peak
        parts.append(
            f'<text x="{left - 8}" y="{y + 17}" class="label end">'
            f"{escape(label)}</text>"
            f'<rect class="bar" x="{left}" y="{y + 4}" width="{w:.1f}" height="{row - 8}" '
            f'fill="{colour}"><title>{escape(label)}: {count}</title></rect>'
            f'<text x="{left + w + 6:.1f}" y="{y + 17}" class="count start">'
            f"{count}</text>"
        )
    return _svg(chart, title, width, height, "".join(parts))


def _svg(chart: str, title: str, width: int, height: float, body: str) -> str:
    return (
        f'<svg data-chart="{chart}" role="img" aria-label="{escape(title)}" '
        f'viewBox="0 0 {width} {height:.0f}" width="100%">{body}</svg>'
    )


def _empty(chart: str, title: str) -> str:
    return _svg(chart, title, 560, 60, '<text x="280" y="34" class="label">nothing to show</text>')


def _tile(name: str, value: str, note: str = "") -> str:
    return (
        f'<div class="tile"><div class="value">{escape(value)}</div>'
        f'<div class="name">{escape(name)}</div><div class="note">{escape(note)}</div></div>'
    )


def _html_table(headers: list[str], rows: list[list[str]]) -> str:
    if not rows:
        return '<p class="none">none</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _legend() -> str:
    return "".join(
        f'<span class="key"><i style="background:{colour}"></i>{escape(system)}</span>'
        for system, colour in SYSTEM_COLOURS.items()
    )


STYLE = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f4f5f7;
color:#1f2933}
header{background:#1f2933;color:#fff;padding:20px 32px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#cbd2d9}main{padding:24px 32px;max-width:1240px;margin:auto}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:14px}
.tile{background:#fff;border-radius:8px;padding:14px 16px;box-shadow:0 1px 2px #0002}
.tile .value{font-size:26px;font-weight:650}.tile .name{color:#52606d}
.tile .note{color:#7b8794;font-size:12px}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(440px,1fr));gap:16px;
margin-top:18px}
section{background:#fff;border-radius:8px;padding:14px 18px;box-shadow:0 1px 2px #0002;
margin-top:16px}section h2{font-size:16px;margin:0 0 8px}
svg .label{font-size:11px;fill:#52606d;text-anchor:middle}
svg .count{font-size:12px;fill:#1f2933;text-anchor:middle;font-weight:600}
svg .end{text-anchor:end}svg .start{text-anchor:start}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:5px 8px;
border-bottom:1px solid #e4e7eb}th{color:#52606d;font-weight:600}
.key{margin-right:12px;font-size:12px;color:#52606d}
.key i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
.none{color:#7b8794}
"""


def html(report: Report) -> str:
    since = report.since.date().isoformat() if report.since else "the beginning"
    generated = report.generated_at.strftime("%Y-%m-%d %H:%M UTC")
    tiles = "".join(
        [
            _tile("runs", str(report.runs), f"{report.open} open"),
            _tile("posted", str(report.posted),
                  f"{report.delivered} delivered · {report.needs_attention} need attention · "
                  f"{report.rejected} rejected"),
            _tile("median cycle time", human(report.cycle_time.median_seconds),
                  f"p90 {human(report.cycle_time.p90_seconds)}"),
            _tile("straight-through", _rate(report.straight_through),
                  f"{report.straight_through.count} of {report.straight_through.total} runs"),
            _tile("first-pass accuracy", _rate(report.first_pass_accuracy),
                  f"{report.first_pass_accuracy.count} of {report.first_pass_accuracy.total}"),
            _tile("approval wait", human(report.approval_wait.median_seconds),
                  f"median of {report.approval_wait.count} decided"),
        ]
    )  # fmt: skip
    cycle = _columns(
        "cycle-time",
        "Cycle time distribution, event to posted",
        [(label, n, "#4e79a7") for label, n in histogram(report.cycle_times_seconds)],
    )
    causes = _rows(
        "exceptions",
        "Exceptions by cause",
        [
            (e.reason_code, e.count,
             SYSTEM_COLOURS.get(e.source_system, "#7f7f7f"))
            for e in report.exceptions
        ],
    )  # fmt: skip
    aging = _columns(
        "aging",
        "Open items by age",
        [
            (name, report.aging[name], colour)
            for name, colour in zip(AGING_BUCKETS, AGING_COLOURS, strict=True)
        ],
    )
    lines = _html_table(
        ["product line", "posted", "median", "p90"],
        [
            [x.product_line, str(x.count), human(x.median_seconds), human(x.p90_seconds)]
            for x in report.cycle_time_by_product_line
        ],
    )
    incidents = _html_table(
        ["system", "retries", "failures"],
        [[i.system, str(i.retries), str(i.failures)] for i in report.incidents],
    )
    intake = _html_table(
        ["intake source", "requests", "accepted", "refused"],
        [
            [s.source, str(s.requests), str(s.accepted), _refusals(s.refused)]
            for s in report.intake_sources
        ],
    )
    undelivered = _html_table(
        ["reason", "delivery failures"],
        [[f.reason_code, str(f.count)] for f in report.delivery_failures],
    )
    by_system: dict[str, int] = {}
    for item in report.exceptions:
        by_system[item.source_system] = by_system.get(item.source_system, 0) + item.count
    sources = _html_table(
        ["source system", "exceptions"],
        [[s, str(n)] for s, n in sorted(by_system.items(), key=lambda i: -i[1])],
    )
    items = _html_table(
        ["workflow id", "customer", "product line", "waiting on", "age", "approval wait"],
        [
            [i.workflow_id, i.customer_id, i.product_line, i.waiting_on,
             human(i.age_seconds), human(i.approval_wait_seconds)]
            for i in report.open_items
        ],
    )  # fmt: skip
    skipped = _html_table(
        ["contract", "field", "reason", "fires", "last skipped"], _skipped_rows(report)
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>q2c report</title><style>{STYLE}</style></head>
<body><header><h1>Invoice automation report</h1>
<p>Runs received since {escape(since)} · generated {escape(generated)}</p></header>
<main><div class="tiles">{tiles}</div>
<div class="charts">
<section><h2>Cycle time distribution (event to posted)</h2>{cycle}</section>
<section><h2>Exceptions by cause</h2>{causes}<div>{_legend()}</div></section>
<section><h2>Open items by age</h2>{aging}</section>
<section><h2>Cycle time by product line</h2>{lines}
<h2 style="margin-top:14px">Exceptions by source system</h2>{sources}</section>
</div>
<section><h2>Delivery failures by cause</h2>{undelivered}</section>
<section><h2>Integration incidents per system</h2>{incidents}
<h2 style="margin-top:14px">Integration incidents per intake source</h2>{intake}</section>
<section><h2>Open items</h2>{items}</section>
<section id="skipped-contracts"><h2>Contracts skipped by the calendar</h2>{skipped}</section>
{_html_receivables(report.receivables)}
</main></body></html>
"""


def _html_receivables(figures: ReceivablesFigures | None) -> str:
    """DSO, CEI and write-offs per currency, the dispute rate, and one aging chart per
    currency (amounts are not added across currencies)."""
    if figures is None:
        return '<section><h2>Receivables</h2><p class="none">no invoice in collection</p></section>'
    tiles = [
        _tile(f"DSO {currency}", _ratio(c.dso_days, " d"), f"CEI {_ratio(c.cei_percent, ' %')}")
        for currency, c in figures.by_currency.items()
    ]
    tiles.append(
        _tile("dispute rate", _ratio(figures.dispute_rate_percent, " %"),
              f"{figures.disputes_opened} of {figures.invoices_issued} invoices")
    )  # fmt: skip
    charts = "".join(
        f"<section><h2>Receivables by days past due, {escape(currency)}</h2>"
        + _columns(
            f"receivables-aging-{currency}",
            f"Receivables by days past due, {currency}",
            [
                (name, float(c.aging[name]), colour)
                for name, colour in zip(PAST_DUE_BUCKETS, PAST_DUE_COLOURS, strict=True)
            ],
            shown=lambda value: f"{value:,.2f}",
        )
        + "</section>"
        for currency, c in figures.by_currency.items()
    )
    table = _html_table(RECEIVABLE_HEADERS, _receivable_rows(figures))
    return (
        f'<section data-section="receivables"><h2>Receivables {figures.start} – {figures.end}'
        f'</h2><div class="tiles">{"".join(tiles)}</div>'
        f'<div style="margin-top:14px">{table}</div></section>'
        f'<div class="charts">{charts}</div>'
    )


def _refusals(refused: dict[str, int]) -> str:
    """ "bad_signature 3, dead_lettered 1", or "–" for none."""
    return ", ".join(f"{cause} {count}" for cause, count in refused.items()) or "–"


def _rate(value: Rate) -> str:
    return "–" if value.rate is None else f"{value.rate:.0%}"
