"""The PDF as a finance team's customer sees it: rendered to a picture with poppler's
`pdftoppm` and checked where an invoice has its parts, read back as text with
`pdftotext`, and opened as Factur-X (the CII inside, PDF/A-3 metadata, embedded fonts)."""

import io
import shutil
import subprocess
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from facturx import get_xml_from_pdf
from PIL import Image
from pypdf import PdfReader

from billing.einvoice import RenderedDocuments, render_documents
from tests.billing.einvoice.builders import ISSUED, SELLER, customer, draft, line, taxed

pytestmark = pytest.mark.skipif(
    shutil.which("pdftoppm") is None, reason="needs poppler-utils (apt-get install poppler-utils)"
)
DPI = 50
ACCENT = (0x0B, 0x4F, 0x8A)  # the title's blue
TOTAL_BAND = (0xE4, 0xEC, 0xF5)  # the amount-due band


def _reverse_charge() -> RenderedDocuments:
    who = customer("FR", tax_id="FR40303265045")
    invoice = taxed(
        draft(
            line("500.00", line_id="L1", description="Platform fee"),
            line("240.00", line_id="L2", description="API calls"),
            line("-74.00", line_id="L3", description="Launch discount 10%", model="discount"),
        ),
        who,
    )
    return render_documents(
        invoice, number="RE-2026-0042", issue_date=ISSUED, seller=SELLER, customer=who
    )


@pytest.fixture(scope="module")
def rendered() -> RenderedDocuments:
    return _reverse_charge()


@pytest.fixture(scope="module")
def picture(rendered: RenderedDocuments, tmp_path_factory: pytest.TempPathFactory) -> Image.Image:
    folder = tmp_path_factory.mktemp("pdf")
    (folder / "invoice.pdf").write_bytes(rendered.pdf)
    subprocess.run(
        ["pdftoppm", "-png", "-r", str(DPI), "-singlefile", "invoice.pdf", "page"],
        cwd=folder,
        check=True,
    )
    return Image.open(folder / "page.png").convert("RGB")


def _ink(image: Image.Image, box: tuple[float, float, float, float]) -> float:
    """The share of non-white pixels in a box given as fractions of the page."""
    width, height = image.size
    crop = image.crop(
        (int(box[0] * width), int(box[1] * height), int(box[2] * width), int(box[3] * height))
    ).convert("L")
    pixels = crop.tobytes()
    return sum(1 for value in pixels if value < 200) / len(pixels)


def _has_colour(image: Image.Image, colour: tuple[int, int, int], box: tuple[float, ...]) -> bool:
    width, height = image.size
    crop = image.crop(
        (int(box[0] * width), int(box[1] * height), int(box[2] * width), int(box[3] * height))
    )
    data = crop.tobytes()
    return any(
        all(abs(data[index + offset] - colour[offset]) <= 12 for offset in range(3))
        for index in range(0, len(data), 3)
    )


def test_one_a4_page(picture: Image.Image) -> None:
    # A4 is 210 x 297 mm, 595 x 842 points: at 50 dpi 413.2 x 584.7 pixels, rounded up
    assert picture.size == (414, 585)


def test_the_parts_sit_where_an_invoice_has_them(picture: Image.Image) -> None:
    assert _ink(picture, (0.0, 0.0, 1.0, 0.04)) == 0  # a top margin
    assert _ink(picture, (0.0, 0.0, 0.06, 1.0)) == 0  # a left margin
    assert _ink(picture, (0.08, 0.05, 0.45, 0.13)) > 0.02  # the seller's name and address
    assert _has_colour(picture, ACCENT, (0.6, 0.05, 0.95, 0.12))  # the title, top right
    assert _ink(picture, (0.08, 0.16, 0.45, 0.26)) > 0.02  # the buyer's address block
    assert _ink(picture, (0.55, 0.16, 0.95, 0.26)) > 0.02  # dates and references
    assert _ink(picture, (0.08, 0.27, 0.95, 0.45)) > 0.03  # the lines table
    assert _has_colour(picture, TOTAL_BAND, (0.45, 0.4, 0.95, 0.75))  # the amount due
    assert _ink(picture, (0.0, 0.97, 1.0, 1.0)) == 0  # a bottom margin
    assert _ink(picture, (0.08, 0.925, 0.95, 0.965)) > 0.02  # the footer: seller, VAT id


def test_the_text_a_reader_needs(rendered: RenderedDocuments, tmp_path: Path) -> None:
    if shutil.which("pdftotext") is None:
        pytest.skip("needs pdftotext")
    path = tmp_path / "invoice.pdf"
    path.write_bytes(rendered.pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    for expected in (
        "INVOICE",
        "RE-2026-0042",
        "q2c Demo GmbH",
        "Customer FR Ltd",
        "VAT ID FR40303265045",
        "VAT ID DE136695976",
        "Reverse charge",
        "Launch discount 10%",
        "666.00",  # 500.00 + 240.00 - 74.00, no VAT
        "IBAN DE89 3704 0044 0532 0130 00",
        "01 Oct 2026",
        "Due date",
    ):
        assert expected in text, expected


def test_the_file_is_one_pdf(rendered: RenderedDocuments) -> None:
    # factur-x sets PDF 1.6 for PDF/A-3; the page ReportLab wrote is not carried along
    # before it (that one starts %PDF-1.4), so the file has one header and one trailer.
    assert rendered.pdf.startswith(b"%PDF-1.6")
    assert rendered.pdf.count(b"%PDF-") == 1
    assert rendered.pdf.count(b"%%EOF") == 1


def test_reportlab_runs_with_its_c_accelerator() -> None:
    from reportlab.lib import rl_accel

    # Without rl-accel (reportlab[accel]) ReportLab falls back to Python and each PDF costs
    # more CPU; the fallback is a Python function, the accelerator a built-in one.
    assert type(rl_accel.fp_str).__name__ == "builtin_function_or_method"


def test_it_is_a_factur_x_pdf_a_3(rendered: RenderedDocuments) -> None:
    filename, xml = get_xml_from_pdf(rendered.pdf, check_xsd=True)
    assert (filename, xml) == ("factur-x.xml", rendered.cii)
    reader = PdfReader(io.BytesIO(rendered.pdf))
    root: Any = reader.trailer["/Root"]
    metadata = root["/Metadata"].get_object().get_data()
    assert b"<pdfaid:part>3</pdfaid:part>" in metadata
    assert b"EN 16931" in metadata
    (intent,) = root["/OutputIntents"]
    assert intent.get_object()["/S"] == "/GTS_PDFA1"
    profile = intent.get_object()["/DestOutputProfile"].get_object()
    assert profile["/N"] == 3  # RGB
    assert profile.get_data()[36:40] == b"acsp"  # an ICC profile (ICC.1, 7.2.10)
    resources: Any = reader.pages[0]["/Resources"]
    fonts = resources["/Font"]
    for font in fonts.values():
        descendant = font.get_object()
        descriptor = descendant.get("/FontDescriptor")
        assert descriptor is not None and "/FontFile2" in descriptor.get_object()


XMP_OF_INFO = {
    "/Title": "dc_title",
    "/Author": "dc_creator",
    "/Subject": "dc_description",
    "/Keywords": "pdf_keywords",
    "/Creator": "xmp_creator_tool",
    "/Producer": "pdf_producer",
    "/CreationDate": "xmp_create_date",
    "/ModDate": "xmp_modify_date",
}
"""ISO 19005-3 (PDF/A-3) 6.6.2.3.1 and its table 1: each entry of the document information
dictionary that has an XMP analogue must be in the XMP with an equivalent value (pypdf's
names for the XMP properties)."""


INFO_DATES = {"/CreationDate": "creation_date", "/ModDate": "modification_date"}


def _xmp_text(value: Any) -> str:
    if isinstance(value, dict):  # a language alternative: the default
        return str(value["x-default"])
    if isinstance(value, list):  # a sequence (dc:creator): one author here
        return ", ".join(value)
    return str(value)


def test_the_information_dictionary_agrees_with_the_xmp(rendered: RenderedDocuments) -> None:
    reader = PdfReader(io.BytesIO(rendered.pdf))
    info: Any = reader.trailer["/Info"].get_object()
    xmp = reader.xmp_metadata
    assert xmp is not None
    assert "/Title" in info and "/Producer" in info  # there is something to compare
    for key, prop in XMP_OF_INFO.items():
        if key not in info:
            continue
        analogue = getattr(xmp, prop)
        assert analogue is not None, f"{key} has no XMP analogue ({prop})"
        if key in INFO_DATES:  # the same moment, written in two syntaxes
            stamp = getattr(reader.metadata, INFO_DATES[key])
            # pypdf gives the XMP's date in UTC without a zone
            assert stamp.astimezone(UTC).replace(tzinfo=None) == analogue, key
        else:
            assert info[key] == _xmp_text(analogue), key
