"""`q2c revenue waterfall`: the deferred-revenue roll-forward per month and currency, read
from the ERP's movements on the deferred-revenue account (`GET /erp/revenue/movements`),
as rows, JSON, or a self-contained HTML page with one chart per currency."""

from collections.abc import Sequence
from decimal import Decimal
from html import escape

import httpx

from billing.revenue import Movement, WaterfallRow, waterfall

COLOURS = {"billed": "#8fbf4d", "recognised": "#e0903a", "closing": "#3e7cb1"}


class WaterfallError(RuntimeError):
    """The ERP could not be read, or answered something unreadable."""


async def fetch_movements(http: httpx.AsyncClient) -> list[Movement]:
    try:
        response = await http.get("/erp/revenue/movements")
        response.raise_for_status()
        return [
            Movement(
                month=str(item["month"]),
                currency=str(item["currency"]),
                billed=Decimal(str(item["billed"])),
                recognised=Decimal(str(item["recognised"])),
            )
            for item in response.json()
        ]
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
        raise WaterfallError(f"erp GET /erp/revenue/movements: {error}") from None


def rows_json(rows: Sequence[WaterfallRow]) -> list[dict[str, str]]:
    return [
        {
            "month": r.month,
            "currency": r.currency,
            "opening": format(r.opening, "f"),
            "billed": format(r.billed, "f"),
            "recognised": format(r.recognised, "f"),
            "closing": format(r.closing, "f"),
        }
        for r in rows
    ]


def _chart(currency: str, rows: Sequence[WaterfallRow]) -> str:
    """Per month, three bars: billed into deferred revenue, recognised out of it, and the
    closing balance; negative values hang below the axis."""
    width, height, left, bottom, top = 640, 260, 70, 40, 16
    series = ("billed", "recognised", "closing")
    values = [getattr(r, name) for r in rows for name in series]
    high = max([Decimal(0), *values])
    low = min([Decimal(0), *values])
    span = (high - low) or Decimal(1)
    inner = height - bottom - top

    def y(value: Decimal) -> float:
        return top + float((high - value) / span) * inner

    slot = (width - left - 10) / max(len(rows), 1)
    bar = slot * 0.8 / len(series)
    parts = [
        f'<line x1="{left}" y1="{y(Decimal(0)):.1f}" x2="{width - 10}" '
        f'y2="{y(Decimal(0)):.1f}" stroke="#999"/>',
        f'<text x="{left - 6}" y="{y(high) + 4:.1f}" class="label end">{high}</text>',
    ]
    for i, row in enumerate(rows):
        x0 = left + i * slot + slot * 0.1
        for j, name in enumerate(series):
            value: Decimal = getattr(row, name)
            top_y, base_y = sorted((y(value), y(Decimal(0))))
            parts.append(
                f'<rect class="bar {name}" x="{x0 + j * bar:.1f}" y="{top_y:.1f}" '
                f'width="{bar:.1f}" height="{base_y - top_y:.1f}" fill="{COLOURS[name]}">'
                f"<title>{row.month} {name}: {value} {escape(currency)}</title></rect>"
            )
        parts.append(
            f'<text x="{x0 + slot * 0.4:.1f}" y="{height - bottom + 16}" class="label">'
            f"{row.month}</text>"
        )
    return (
        f'<svg data-chart="waterfall-{escape(currency)}" role="img" '
        f'aria-label="Deferred revenue {escape(currency)}" viewBox="0 0 {width} {height}" '
        f'width="100%">{"".join(parts)}</svg>'
    )


def _table(rows: Sequence[WaterfallRow]) -> str:
    head = "".join(f"<th>{c}</th>" for c in ("month", "opening", "billed", "recognised", "closing"))
    body = "".join(
        f"<tr><td>{r.month}</td><td>{r.opening}</td><td>{r.billed}</td>"
        f"<td>{r.recognised}</td><td>{r.closing}</td></tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(rows: Sequence[WaterfallRow]) -> str:
    """One section per currency: the chart, then the roll-forward table. Nothing is fetched
    when the page opens."""
    currencies = sorted({r.currency for r in rows})
    legend = " ".join(
        f'<span class="key"><i style="background:{colour}"></i>{name}</span>'
        for name, colour in COLOURS.items()
    )
    sections = "".join(
        f'<section data-currency="{escape(c)}"><h2>{escape(c)}</h2>'
        f"{_chart(c, [r for r in rows if r.currency == c])}"
        f"{_table([r for r in rows if r.currency == c])}</section>"
        for c in currencies
    )
    if not sections:
        sections = "<p>No deferred revenue has moved in these months.</p>"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>q2c deferred revenue waterfall</title>
<style>
body{{font-family:system-ui,sans-serif;margin:24px;color:#1f2933;max-width:760px}}
table{{border-collapse:collapse;margin:8px 0 24px}}td,th{{padding:3px 10px;text-align:right;
border-bottom:1px solid #e4e7eb}}td:first-child,th:first-child{{text-align:left}}
svg .label{{font-size:11px;fill:#52606d;text-anchor:middle}}svg .end{{text-anchor:end}}
.key{{margin-right:14px;font-size:13px}}.key i{{display:inline-block;width:12px;height:12px;
margin-right:4px;vertical-align:-1px}}
</style></head><body>
<h1>Deferred revenue waterfall</h1>
<p>Per month: opening balance, billed into deferred revenue, recognised out of it, closing
balance.</p><p>{legend}</p>
{sections}
</body></html>
"""


def build(
    movements: Sequence[Movement], *, first: str | None, last: str | None
) -> list[WaterfallRow]:
    return waterfall(movements, first=first, last=last)
