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
    web = create_app(case, load_kb(attack), limits=limits, loopback_only=is_loopback(host))
    if not is_loopback(host):
        console.print(f"warning: serving {host} without authentication; put a proxy in front")
    console.print(f"aptlink serving case {case} on http://{_url_host(host)}:{port}/")
    uvicorn.run(web, host=host, port=port, log_level="warning", server_header=False)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
