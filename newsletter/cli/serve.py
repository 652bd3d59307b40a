"""`newsletter serve`: the unsubscribe pages and the archive, for an HTTPS proxy to put online."""

from __future__ import annotations

import socket

import click
import uvicorn

from newsletter.cli.common import console, open_store, settings_from, warn
from newsletter.errors import NewsletterError
from newsletter.web import create_app, secret_warning


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", default=8025, show_default=True, type=click.IntRange(1, 65535), help="The port.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int) -> None:
    """Serve one-click unsubscribe and the archive of sent issues.

    Put it behind an HTTPS reverse proxy at [web] base_url. The access log is off: unsubscribe
    links carry the subscriber's address.
    """
    settings = settings_from(ctx)
    app = create_app(settings, open_store(settings))
    # Bind first, so a port in use is one clear line before anything says "serving".
    try:
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        raise NewsletterError(
            f"cannot listen on {host}:{port}: {exc.strerror}",
            hint=f"another program (another `newsletter serve`?) has port {port}: stop it, or give --port",
        ) from exc
    warning = secret_warning(settings)
    if warning:
        warn([warning])
    console.print(
        f"serving {settings.newsletter.name} on http://{host}:{port} "
        f"(links in emails point at {settings.web.base_url}); Ctrl-C stops"
    )
    config = uvicorn.Config(app, access_log=False, log_level="warning", proxy_headers=True)
    uvicorn.Server(config).run(sockets=[sock])


COMMANDS = [serve]
