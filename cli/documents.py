"""`q2c validate FILE`, and the e-invoice formats of `q2c preview` (ubl, cii, pdf).

`validate` runs the official EN 16931 rules on a UBL or CII file (detected from its root
element), or on the XML a Factur-X PDF carries: each failed rule is printed with its id,
flag and location; exit 1 when one is fatal, 2 when the file cannot be read as either.
"""

import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from cli.console import err

if TYPE_CHECKING:
    from billing.einvoice import RenderedDocuments
    from billing.preview import PreviewRequest
    from billing.tax import Seller
    from schemas.invoice import Invoice

E_INVOICE_FORMATS = ("ubl", "cii", "pdf")


def _error(message: str, code: int) -> typer.Exit:
    err.print(f"[red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


def seller_for(request: "PreviewRequest") -> "Seller":
    """The seller from settings (Q2C_SELLER_*), with what the file's `seller` says on top."""
    from workers.settings import Settings
    from workers.worker import seller_from

    seller = seller_from(Settings())
    if request.seller is None:
        return seller
    given = request.seller.model_dump(include=request.seller.model_fields_set)
    return seller.model_copy(update=given)


def write_preview(
    request: "PreviewRequest",
    documents: "list[Invoice]",
    *,
    output: str,
    out: Path | None,
    issue_date: date,
) -> None:
    """Write each document of a preview as UBL, CII or the Factur-X PDF to `out`."""
    from billing.einvoice import DocumentRejected, EInvoiceError, render_documents

    if out is None:
        raise _error(f"--format {output} writes a file: give --out PATH", 1)
    if request.customer is None:
        raise _error(f"--format {output} needs the file's customer (and seller) for tax", 1)
    if not documents:
        raise _error("nothing to bill: no document to write", 1)
    seller = seller_for(request)
    for document in documents:
        try:
            rendered = render_documents(
                document,
                number=document.invoice_id,
                issue_date=issue_date,
                seller=seller,
                customer=request.customer,
                terms=request.contract.document_terms if request.contract else None,
            )
        except EInvoiceError as error:
            raise _error(
                f"{error.code}: {error.field}: {error.message} ({error.rule})", 1
            ) from None
        except DocumentRejected as error:
            raise _error(f"{error.code}: {error}", 1) from None
        path = out if len(documents) == 1 else out.with_stem(f"{out.stem}-{rendered.file_stem}")
        path.write_bytes(_pick(rendered, output))
        sys.stdout.write(f"{path}\n")


def _pick(rendered: "RenderedDocuments", output: str) -> bytes:
    return {"ubl": rendered.ubl, "cii": rendered.cii, "pdf": rendered.pdf}[output]


def _xml_of(file: Path) -> bytes:
    try:
        data = file.read_bytes()
    except OSError as error:
        raise _error(f"{file}: {error.strerror}", 2) from None
    if not data.startswith(b"%PDF"):
        return data
    from facturx import get_xml_from_pdf

    try:
        _, xml = get_xml_from_pdf(data, check_xsd=False)
    except Exception as error:  # the library raises bare exceptions for a broken PDF
        raise _error(f"{file}: no Factur-X XML in this PDF: {error}", 2) from None
    if not xml:
        raise _error(f"{file}: no Factur-X XML in this PDF", 2)
    return bytes(xml)


def register(app: typer.Typer, *, bench: typer.Typer) -> None:  # noqa: ARG001
    @app.command("documents")
    def documents_command(
        run: str = typer.Argument(..., help="The run's workflow id"),
        out: Path = typer.Option(..., "--out", help="Folder to write the files to"),
    ) -> None:
        """Write a delivered run's documents (UBL, CII, Factur-X PDF), rendered again from
        what its delivery was given; the seller is today's settings' (Q2C_SELLER_*)."""
        import asyncio

        from temporalio.service import RPCError

        from billing.einvoice import DocumentRejected, EInvoiceError
        from ops.documents import RunDocumentsError, write_run_documents
        from workers.client import connect
        from workers.settings import Settings
        from workers.worker import seller_from

        async def main() -> list[Path]:
            client = await connect()
            seller = seller_from(Settings())
            return await write_run_documents(client, run, out=out, seller=seller)

        try:
            written = asyncio.run(main())
        except (RunDocumentsError, EInvoiceError, DocumentRejected) as error:
            raise _error(str(error), 1) from None
        except (RuntimeError, RPCError) as error:  # no such run, or Temporal unreachable
            raise _error(f"{run}: {error}", 1) from None
        for path in written:
            sys.stdout.write(f"{path}\n")

    @app.command("validate")
    def validate_command(
        file: Path = typer.Argument(..., help="A UBL or CII XML file, or a Factur-X PDF"),
    ) -> None:
        """Check a UBL or CII e-invoice with the official EN 16931 rules (docs/einvoice.md)."""
        from billing.einvoice import UnreadableXml, validate
        from billing.einvoice.validation import ARTEFACTS_VERSION

        try:
            report = validate(_xml_of(file))
        except UnreadableXml as error:
            raise _error(f"{file}: {error}", 2) from None
        for rule in report.failed:  # tab-separated, for grep and cut
            sys.stdout.write(f"{rule.rule_id}\t{rule.flag}\t{rule.location}\t{rule.text}\n")
        fatal = len(report.fatal)
        sys.stdout.write(
            f"{file}: {report.syntax.upper()}, EN 16931 rules {ARTEFACTS_VERSION}: {fatal} fatal, "
            f"{len(report.failed) - fatal} warning\n"
        )
        if fatal:
            raise typer.Exit(1)
