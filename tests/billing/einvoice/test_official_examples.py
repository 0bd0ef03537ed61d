"""The validation harness against the CEN/TC 434 artefacts' own examples: every official
example passes with no fatal rule, and a tampered one fails with the rule the standard
names for what was broken."""

from pathlib import Path

import pytest
from lxml import etree

from billing.einvoice import UnreadableXml, validate
from billing.einvoice.validation import artefacts_dir, detect_syntax, validate_rendered

EXAMPLES = sorted(artefacts_dir().glob("*/examples/*.xml"))
UBL_EXAMPLE = artefacts_dir() / "ubl" / "examples" / "ubl-tc434-example1.xml"
CII_EXAMPLE = artefacts_dir() / "cii" / "examples" / "CII_example1.xml"
CBC = "{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}"
RAM = "{urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100}"


def test_the_artefacts_hold_the_official_examples() -> None:
    syntaxes = [path.parent.parent.name for path in EXAMPLES]
    assert syntaxes.count("ubl") == 14 and syntaxes.count("cii") == 12
    assert "1.3.16" in (artefacts_dir() / "README.md").read_text("utf-8")
    assert "EUPL" in (artefacts_dir() / "LICENSE.txt").read_text("utf-8")


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_every_official_example_passes(path: Path) -> None:
    report = validate(path.read_bytes())
    assert report.syntax == path.parent.parent.name
    assert report.fatal == []
    # The path for q2c's own documents (bytes straight to Saxon) reports the same.
    assert validate_rendered(path.read_bytes(), report.syntax) == report


def _tamper(path: Path, tag: str, value: str) -> bytes:
    root = etree.fromstring(path.read_bytes())
    element = next(root.iter(tag))
    element.text = value
    return bytes(etree.tostring(root))


@pytest.mark.parametrize(
    ("path", "tag", "value", "rule"),
    [
        # BT-115 must equal BT-112 - BT-113 + BT-114
        (UBL_EXAMPLE, f"{CBC}PayableAmount", "1.00", "BR-CO-16"),
        # BT-109 must equal BT-106 - BT-107 + BT-108
        (UBL_EXAMPLE, f"{CBC}TaxExclusiveAmount", "1.00", "BR-CO-13"),
        # the VAT total must equal the sum of the breakdown's VAT amounts
        (CII_EXAMPLE, f"{RAM}TaxTotalAmount", "999.99", "BR-CO-14"),
        # BT-112 must equal BT-109 + BT-110
        (CII_EXAMPLE, f"{RAM}GrandTotalAmount", "1.00", "BR-CO-15"),
        # the invoice type code must come from UNTDID 1001
        (UBL_EXAMPLE, f"{CBC}InvoiceTypeCode", "999", "BR-CL-01"),
    ],
    ids=["ubl-payable", "ubl-tax-exclusive", "cii-tax-total", "cii-grand-total", "ubl-type"],
)
def test_a_tampered_document_fails_with_the_rule(
    path: Path, tag: str, value: str, rule: str
) -> None:
    report = validate(_tamper(path, tag, value))
    assert rule in report.fatal_rule_ids
    assert validate_rendered(_tamper(path, tag, value), report.syntax) == report
    (failed,) = [item for item in report.fatal if item.rule_id == rule]
    assert failed.location and rule in failed.text


@pytest.mark.parametrize(
    ("data", "mentions"),
    [
        (b"not xml at all", "not well-formed"),
        (b"<Invoice/>", "neither a UBL"),
        (b'<?xml version="1.0"?><a:Order xmlns:a="urn:x"/>', "'Order'"),
    ],
    ids=["garbage", "no-namespace", "other-document"],
)
def test_unreadable_input_is_refused(data: bytes, mentions: str) -> None:
    with pytest.raises(UnreadableXml, match=mentions):
        validate(data)


def test_the_syntax_is_detected_from_the_root() -> None:
    assert detect_syntax(UBL_EXAMPLE.read_bytes()) == "ubl"
    assert detect_syntax(CII_EXAMPLE.read_bytes()) == "cii"


def _official_svrl_failures(path: Path, data: bytes) -> list[tuple[str, str, str, str]]:
    """The failures in the whole SVRL the official stylesheet writes, run on its own."""
    from saxonche import PySaxonProcessor

    processor = PySaxonProcessor(license=False)
    stylesheet_path = artefacts_dir() / path.parent.parent.name / "xslt"
    (stylesheet_file,) = stylesheet_path.glob("EN16931-*-validation.xslt")
    stylesheet = processor.new_xslt30_processor().compile_stylesheet(
        stylesheet_file=str(stylesheet_file)
    )
    svrl = stylesheet.transform_to_string(xdm_node=processor.parse_xml(xml_text=data.decode()))
    report = etree.fromstring(svrl.encode("utf-8"))
    assert report.tag == "{http://purl.oclc.org/dsdl/svrl}schematron-output"
    names = ("failed-assert", "successful-report")
    return [
        (
            element.get("id", ""),
            element.get("flag", "fatal"),
            element.get("location", ""),
            " ".join((element.findtext("{http://purl.oclc.org/dsdl/svrl}text") or "").split()),
        )
        for element in report.iter(*(f"{{http://purl.oclc.org/dsdl/svrl}}{n}" for n in names))
    ]


@pytest.mark.parametrize(
    ("path", "tag", "value"),
    [
        (UBL_EXAMPLE, f"{CBC}PayableAmount", "1.00"),
        (UBL_EXAMPLE, f"{CBC}InvoiceTypeCode", "999"),
        (CII_EXAMPLE, f"{RAM}GrandTotalAmount", "1.00"),
        (CII_EXAMPLE, f"{RAM}CategoryCode", "X"),
    ],
    ids=["ubl-payable", "ubl-type", "cii-grand-total", "cii-category"],
)
def test_the_report_holds_every_failure_of_the_official_svrl(
    path: Path, tag: str, value: str
) -> None:
    # Only the failures leave the transform; they must be the official report's, in its order.
    data = _tamper(path, tag, value)
    expected = _official_svrl_failures(path, data)
    assert expected, "the tampered document should fail a rule"
    report = validate(data)
    assert [(r.rule_id, r.flag, r.location, r.text) for r in report.failed] == expected
