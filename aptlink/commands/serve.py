"""The `aptlink serve` command: the REST API and dashboard over one case, on 127.0.0.1 by default."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from aptlink.errors import ConfigError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command(name="serve")(serve)


def serve(
    case: Annotated[
        Path, typer.Option("--case", help="case folder (holds case.db and reports)")
    ] = Path(os.environ.get("APTLINK_CASE", "cases/default")),
    host: Annotated[
        str, typer.Option("--host", help="address to listen on (loopback unless behind a proxy)")
    ] = DEFAULT_HOST,
    port: Annotated[int, typer.Option("--port", help="TCP port")] = DEFAULT_PORT,
    attack: Annotated[
        Path | None,
        typer.Option("--attack", envvar="APTLINK_ATTACK", help="ATT&CK Enterprise STIX 2.1 bundle"),
    ] = None,
    upload_mb: Annotated[
        int, typer.Option("--upload-mb", help="most megabytes one upload request may carry")
    ] = 200,
    token_file: Annotated[
        Path | None,
        typer.Option(
            "--token-file",
            help="file holding the access token every request must carry ($APTLINK_TOKEN also)",
        ),
    ] = None,
    no_auth: Annotated[
        bool,
        typer.Option(
            "--no-auth",
            help="serve a non-loopback address without a token (behind an "
            "authenticating proxy only)",
        ),
    ] = False,
) -> None:
    """Serve the REST API (/api) and the dashboard (/) of a case; $APTLINK_DB for a shared store."""
    import uvicorn

    from aptlink.cli import console, load_kb
    from aptlink.web import create_app
    from aptlink.web.security import is_loopback
    from aptlink.web.uploads import UploadLimits

    if not 0 < port < 65536:
        raise ConfigError("port out of range", str(port))
    if upload_mb < 1:
        raise ConfigError("upload limit must be at least 1 MB", str(upload_mb))
    limits = UploadLimits(total_bytes=upload_mb * 1024 * 1024)
    token = _token(token_file)
    if token is None and not is_loopback(host) and not no_auth:
        raise ConfigError(
            "a non-loopback address needs a token (--token-file or $APTLINK_TOKEN), "
            "or --no-auth behind an authenticating proxy",
            host,
        )
    web = create_app(
        case, load_kb(attack), limits=limits, loopback_only=is_loopback(host), token=token
    )
    if token is None and not is_loopback(host):
        console.print(f"warning: serving {host} without authentication (--no-auth)")
    console.print(f"aptlink serving case {case} on http://{_url_host(host)}:{port}/")
    uvicorn.run(web, host=host, port=port, log_level="warning", server_header=False)


MIN_TOKEN_CHARS = 16


def _token(token_file: Path | None) -> str | None:
    """The access token from the file (first line) or $APTLINK_TOKEN; None when neither is set."""
    if token_file is not None:
        try:
            text = token_file.read_text(encoding="utf-8").strip().splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read the token file: {exc}", str(token_file)) from exc
        token = text[0].strip() if text else ""
    else:
        token = os.environ.get("APTLINK_TOKEN", "").strip()
        if not token:
            return None
    if len(token) < MIN_TOKEN_CHARS:
        raise ConfigError(
            f"token too short: at least {MIN_TOKEN_CHARS} characters "
            "(for example from `python -c 'import secrets; print(secrets.token_urlsafe())'`)",
            str(token_file or "$APTLINK_TOKEN"),
        )
    return token


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
