"""`q2c keys` (make and list payload encryption keys) and `q2c codec-server`."""

import json
import sys
from pathlib import Path

import typer

from cli.console import err
from workers.keys import (
    KeyConfigError,
    add_key,
    check_key_id,
    load_key_ring,
    new_key,
    new_key_id,
)


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def register(app: typer.Typer, *, bench: typer.Typer) -> None:  # noqa: ARG001
    keys = typer.Typer(no_args_is_help=True, help="Payload encryption keys (AES-256).")
    app.add_typer(keys, name="keys")

    @keys.command("new")
    def new(
        key_id: str | None = typer.Option(None, "--id", help="Key id (default: q2c-<UTC time>)"),
        file: Path | None = typer.Option(
            None, "--file", help="Append it to this key file (created owner-only) instead"
        ),
    ) -> None:
        """Print a fresh key as a key set, {"id": "base64"}, or append it to a key file, where it
        becomes the newest key: the one that encrypts."""
        try:
            if file is not None:
                chosen = add_key(file, key_id=key_id)
                sys.stdout.write(f"added key {chosen} to {file}\n")
                return
            sys.stdout.write(json.dumps({check_key_id(key_id or new_key_id()): new_key()}) + "\n")
        except KeyConfigError as error:
            raise _fail(str(error)) from None

    @keys.command("list")
    def list_keys() -> None:
        """The configured key ids, the encrypting one marked; never the keys themselves."""
        from workers.settings import Settings

        try:
            ring = load_key_ring(Settings())
        except KeyConfigError as error:
            raise _fail(str(error)) from None
        if ring is None:
            sys.stdout.write("payload encryption is off (Q2C_ENCRYPTION=off)\n")
            return
        for key_id in ring.ids:
            mark = "  encrypts" if key_id == ring.current else ""
            sys.stdout.write(f"{key_id}{mark}\n")

    @app.command("codec-server")
    def codec_server(
        host: str | None = typer.Option(None, help="Default Q2C_CODEC_HOST (127.0.0.1)"),
        port: int | None = typer.Option(None, help="Default Q2C_CODEC_PORT (8235)"),
        origin: list[str] = typer.Option(
            [], "--origin", help="Web UI origin allowed by CORS (repeatable; default Q2C_UI_URL's)"
        ),
        namespace: list[str] = typer.Option(
            [], "--namespace", help="Serve only these namespaces (X-Namespace; default any)"
        ),
    ) -> None:
        """Serve POST /encode and /decode for the Web UI and `temporal --codec-endpoint`."""
        import uvicorn

        from ops.codec_server import build_app
        from workers.codec import EncryptionCodec
        from workers.settings import Settings

        settings = Settings()
        try:
            ring = load_key_ring(settings)
        except KeyConfigError as error:
            raise _fail(str(error)) from None
        if ring is None:
            raise _fail("payload encryption is off (Q2C_ENCRYPTION=off): nothing to decode")
        token = settings.codec_token.get_secret_value() if settings.codec_token else None
        app = build_app(
            EncryptionCodec(ring),
            origins=origin or settings.cors_origins,
            token=token,
            namespaces=namespace,
        )
        uvicorn.run(
            app,
            host=host or settings.codec_host,
            port=port or settings.codec_port,
            log_level="warning",
            access_log=False,
        )
