"""Run the official EN 16931 rules (CEN/TC 434 artefacts 1.3.16, `en16931/`) on a document.

The rules come as XSLT 2.0 (schematron compiled by CEN); SaxonC-HE runs them in-process.
Each stylesheet is compiled once per process, on first use (about a second), and kept; a
lock serialises calls into the one Saxon processor, so threads may call `validate` freely.
The output is SVRL: every failed assertion carries its rule id (BR-CO-15), a flag (`fatal`
or `warning`) and the XPath of the element it fired on.

Each official stylesheet is compiled inside a small one that imports it unchanged and keeps
only the failed assertions and successful reports of the SVRL it writes: the rest of the
report (a `fired-rule` element for every rule context, some 20 KB per document) is held as a
tree and dropped instead of being serialised, indented, and handed to Python as a string.
"""

import threading
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from lxml import etree
from pydantic import BaseModel, Field

from billing.einvoice.errors import UnreadableXml

Syntax = Literal["ubl", "cii"]
ARTEFACTS_VERSION = "1.3.16"

UBL_INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
UBL_CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CII_NS = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
_SVRL = "{http://purl.oclc.org/dsdl/svrl}"
_STYLESHEETS: dict[Syntax, str] = {
    "ubl": "ubl/xslt/EN16931-UBL-validation.xslt",
    "cii": "cii/xslt/EN16931-CII-validation.xslt",
}
_lock = threading.Lock()


class FailedRule(BaseModel):
    rule_id: str = Field(description="The rule's id in EN 16931, e.g. BR-CO-15")
    flag: str = Field(description="fatal or warning")
    location: str = Field(description="XPath of the element the rule fired on")
    text: str = Field(description="The rule's own text")


class ValidationReport(BaseModel):
    syntax: Syntax
    failed: list[FailedRule] = Field(default_factory=list)

    @property
    def fatal(self) -> list[FailedRule]:
        return [rule for rule in self.failed if rule.flag == "fatal"]

    @property
    def ok(self) -> bool:
        """True when no fatal rule failed (warnings do not stop a document)."""
        return not self.fatal

    @property
    def fatal_rule_ids(self) -> list[str]:
        return sorted({rule.rule_id for rule in self.fatal})


def artefacts_dir() -> Path:
    return Path(str(resources.files("billing.einvoice").joinpath("en16931")))


def _parse(xml: bytes) -> Any:
    try:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
        return etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as error:
        raise UnreadableXml(f"not well-formed XML: {error}") from None


def detect_syntax(xml: bytes) -> Syntax:
    """UBL (Invoice or CreditNote) or CII, from the root element's namespace."""
    return _syntax_of(_parse(xml))


def _syntax_of(root: Any) -> Syntax:
    namespace = etree.QName(root).namespace
    if namespace in (UBL_INVOICE_NS, UBL_CREDIT_NOTE_NS):
        return "ubl"
    if namespace == CII_NS:
        return "cii"
    raise UnreadableXml(
        f"the root element {etree.QName(root).localname!r} in namespace {namespace!r} is "
        "neither a UBL Invoice or CreditNote nor a CII CrossIndustryInvoice"
    )


@cache
def _processor() -> Any:
    from saxonche import PySaxonProcessor

    return PySaxonProcessor(license=False)


# The official stylesheet's own rule for the document node (import precedence lets this one
# win) runs inside a variable; only what a failure report needs leaves the transform.
_FAILURES_ONLY = """<xsl:stylesheet version="2.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:svrl="http://purl.oclc.org/dsdl/svrl">
  <xsl:import href="{href}"/>
  <xsl:output method="xml" indent="no" omit-xml-declaration="yes" standalone="omit"/>
  <xsl:template match="/">
    <xsl:variable name="report"><xsl:apply-imports/></xsl:variable>
    <svrl:schematron-output>
      <xsl:sequence select="$report//(svrl:failed-assert | svrl:successful-report)"/>
    </svrl:schematron-output>
  </xsl:template>
</xsl:stylesheet>"""


@cache
def _stylesheet(syntax: Syntax) -> Any:
    path = artefacts_dir() / _STYLESHEETS[syntax]
    compiler = _processor().new_xslt30_processor()
    return compiler.compile_stylesheet(stylesheet_text=_FAILURES_ONLY.format(href=path.as_uri()))


def warm_up() -> None:
    """Compile both stylesheets now (a worker calls this at start, off the workflow thread)."""
    with _lock:
        for syntax in _STYLESHEETS:
            _stylesheet(syntax)


def validate(xml: bytes) -> ValidationReport:
    """Every EN 16931 rule `xml` fails (UBL or CII, detected); raises `UnreadableXml`."""
    root = _parse(xml)
    return _run(_syntax_of(root), etree.tostring(root, encoding="unicode"))


def validate_rendered(xml: bytes, syntax: Syntax) -> ValidationReport:
    """`validate` for a document q2c has just rendered (well-formed UTF-8, its syntax
    known): the bytes go to Saxon as they are, not parsed and written again by lxml first."""
    return _run(syntax, xml.decode("utf-8"))


def _run(syntax: Syntax, text: str) -> ValidationReport:
    with _lock:
        stylesheet = _stylesheet(syntax)
        node = _processor().parse_xml(xml_text=text)
        svrl = stylesheet.transform_to_string(xdm_node=node)
    if not svrl:
        raise UnreadableXml("the validation produced no report")
    return ValidationReport(syntax=syntax, failed=_failures(svrl.encode("utf-8")))


def _failures(svrl: bytes) -> list[FailedRule]:
    if b"failed-assert" not in svrl and b"successful-report" not in svrl:
        return []  # the usual answer: nothing failed, so the report need not be parsed
    report = etree.fromstring(svrl)
    failed: list[FailedRule] = []
    for element in report.iter(f"{_SVRL}failed-assert", f"{_SVRL}successful-report"):
        text = element.findtext(f"{_SVRL}text") or ""
        failed.append(
            FailedRule(
                rule_id=element.get("id", ""),
                flag=element.get("flag", "fatal"),
                location=element.get("location", ""),
                text=" ".join(text.split()),
            )
        )
    return failed
