"""`q2c validate` and `q2c preview --format ubl|cii|pdf`, through the real Typer app."""

import json
from pathlib import Path
from typing import Any

from pypdf import PdfWriter
from typer.testing import CliRunner

from billing.einvoice import validate
from billing.einvoice.validation import artefacts_dir
from cli import build_app

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "preview"
runner = CliRunner()


def q2c(*args: str) -> Any:
    return runner.invoke(build_app(), list(args))


def test_an_official_example_passes(tmp_path: Path) -> None:
    example = artefacts_dir() / "ubl" / "examples" / "ubl-tc434-example2.xml"
    result = q2c("validate", str(example))
    assert result.exit_code == 0, result.output
    assert "UBL, EN 16931 rules 1.3.16: 0 fatal" in result.stdout


def test_a_fatal_rule_prints_its_id_flag_and_location(tmp_path: Path) -> None:
    example = artefacts_dir() / "cii" / "examples" / "CII_example1.xml"
    text = example.read_text("utf-8")
    start = text.index("<ram:GrandTotalAmount>") + len("<ram:GrandTotalAmount>")
    end = text.index("</ram:GrandTotalAmount>")
    tampered = tmp_path / "tampered.xml"
    tampered.write_text(text[:start] + "1.00" + text[end:], "utf-8")
    result = q2c("validate", str(tampered))
    assert result.exit_code == 1
    line = next(row for row in result.stdout.splitlines() if row.startswith("BR-CO-15"))
    rule, flag, location, _ = line.split("\t", 3)
    assert (rule, flag) == ("BR-CO-15", "fatal")
    assert location.startswith("/*:CrossIndustryInvoice")  # BR-CO-15 fires on the root


def test_unreadable_input_exits_2(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xml"
    broken.write_text("<Invoice><unclosed></Invoice>", "utf-8")
    result = q2c("validate", str(broken))
    assert result.exit_code == 2
    assert "not well-formed XML" in result.stderr
    missing = q2c("validate", str(tmp_path / "missing.xml"))
    assert missing.exit_code == 2 and "No such file" in missing.stderr


def test_a_pdf_without_factur_x_xml_exits_2(tmp_path: Path) -> None:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    plain = tmp_path / "plain.pdf"
    with plain.open("wb") as file:
        writer.write(file)
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\nnot a PDF body\n")
    for path in (plain, broken):
        result = q2c("validate", str(path))
        assert result.exit_code == 2, result.output
        assert "no Factur-X XML in this PDF" in result.stderr


def test_preview_writes_each_format_and_each_passes(tmp_path: Path) -> None:
    for output in ("ubl", "cii", "pdf"):
        target = tmp_path / f"invoice.{output}"
        result = q2c(
            "preview",
            str(EXAMPLES / "domestic-vat.json"),
            "--format",
            output,
            "--out",
            str(target),
            "--issue-date",
            "2026-04-01",
        )
        assert result.exit_code == 0, result.output
        checked = q2c("validate", str(target))
        assert checked.exit_code == 0, checked.output
    ubl = (tmp_path / "invoice.ubl").read_bytes()
    assert b"<cbc:DueDate>2026-05-01</cbc:DueDate>" in ubl
    assert b'<cbc:PayableAmount currencyID="EUR">1071.00' in ubl
    assert validate(ubl).ok


def test_preview_formats_need_out_and_a_customer(tmp_path: Path) -> None:
    no_out = q2c("preview", str(EXAMPLES / "domestic-vat.json"), "--format", "ubl")
    assert no_out.exit_code == 1 and "--out" in no_out.stderr
    untaxed = q2c(
        "preview",
        str(EXAMPLES / "usage-mix.json"),
        "--format",
        "pdf",
        "--out",
        str(tmp_path / "x.pdf"),
    )
    assert untaxed.exit_code == 1 and "customer" in untaxed.stderr
    assert not (tmp_path / "x.pdf").exists()


def test_preview_names_the_field_an_e_invoice_lacks(tmp_path: Path) -> None:
    request = json.loads((EXAMPLES / "domestic-vat.json").read_text("utf-8"))
    request["customer"]["address"]["line1"] = ""
    no_street = tmp_path / "no-street.json"
    no_street.write_text(json.dumps(request), "utf-8")
    target = tmp_path / "invoice.xml"
    result = q2c("preview", str(no_street), "--format", "ubl", "--out", str(target))
    assert result.exit_code == 1
    assert "einvoice_invalid: customer.address.line1" in result.stderr
    assert not target.exists()


def test_bench_documents_prints_the_figures() -> None:
    result = q2c("bench", "documents", "--documents", "3", "--rounds", "1")
    assert result.exit_code == 0, result.output
    assert "documents/s per core" in result.stdout
