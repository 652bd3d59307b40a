"""A live preview for people designing templates: serves the rendered email on 127.0.0.1 and renders it
again when a template or the config changes; the page reloads itself.

    GET /            the email at desktop (600 px) and phone (375 px) width side by side, and the text part
    GET /email       the email's HTML alone
    GET /text        the plain-text part
    GET /version     {"version": n, "error": "..."}: the page polls it and reloads when n changes
    GET /files/...   the local images the email shows (its file: URLs), and no other file

The render function is passed in (the CLI passes `pipeline.preview`), so this module knows nothing of
collecting or the store. A render that fails keeps the last good email and shows the error.
"""

from __future__ import annotations

import html
import re
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from newsletter.errors import NewsletterError


@dataclass(frozen=True)
class Rendering:
    """What one render produced, and what to watch for the next one."""

    html: Path
    text: Path
    watch: tuple[Path, ...]  # files and folders whose changes trigger a new render
    title: str = ""


@dataclass
class PreviewState:
    render: Callable[[], Rendering]
    version: int = 0
    error: str = ""
    rendering: Rendering | None = None
    stamp: dict[Path, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def refresh(self) -> None:
        """Render now; on failure keep the previous email and remember the error."""
        try:
            result = self.render()
        except NewsletterError as exc:
            with self.lock:
                self.error = str(exc)
                self.version += 1
                self.stamp = _stamps(self.rendering.watch if self.rendering else ())
            return
        with self.lock:
            self.rendering, self.error = result, ""
            self.version += 1
            self.stamp = _stamps(result.watch)

    def changed(self) -> bool:
        watch = self.rendering.watch if self.rendering else ()
        return _stamps(watch) != self.stamp

    def watch_forever(self, stop: threading.Event, interval: float = 0.3) -> None:
        while not stop.wait(interval):
            if self.changed():
                self.refresh()


def _files(paths: tuple[Path, ...]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from (p for p in path.rglob("*") if p.is_file())
        elif path.exists():
            yield path


def _stamps(paths: tuple[Path, ...]) -> dict[Path, float]:
    stamps: dict[Path, float] = {}
    for path in _files(paths):
        try:
            stamps[path] = path.stat().st_mtime_ns
        except OSError:
            continue
    return stamps


_RELOAD = """<script>
(function () {
  var seen = %d;
  setInterval(function () {
    fetch("/version").then(function (r) { return r.json(); }).then(function (v) {
      if (v.version !== seen) { location.reload(); }
    }).catch(function () {});
  }, 500);
})();
</script>"""

_FRAMES = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>%(title)s</title>
<style>
body { margin: 0; font: 14px/1.4 system-ui, sans-serif; background: #dfe3e8; color: #1f2933; }
header { padding: 10px 16px; background: #102a43; color: #fff; }
header a { color: #9fb3c8; margin-left: 12px; }
.error { margin: 16px; padding: 12px 16px; background: #fde8e8; color: #8a1c1c; white-space: pre-wrap;
  border: 1px solid #f5b5b5; border-radius: 4px; font-family: ui-monospace, monospace; }
.frames { display: flex; gap: 24px; align-items: flex-start; padding: 16px; flex-wrap: wrap; }
figure { margin: 0; } figcaption { margin-bottom: 6px; color: #52606d; }
iframe { border: 0; background: #fff; box-shadow: 0 1px 4px rgba(0,0,0,.2); height: calc(100vh - 110px); }
</style></head><body>
<header>%(title)s <a href="/email">email only</a><a href="/text">text part</a>
<span style="float:right;color:#9fb3c8">renders again when a template or the config changes</span></header>
%(error)s
<div class="frames">
<figure><figcaption>Desktop, 600 px</figcaption><iframe title="Desktop" src="/email" width="600"></iframe></figure>
<figure><figcaption>Phone, 375 px</figcaption><iframe title="Phone" src="/email" width="375"></iframe></figure>
</div>
%(reload)s
</body></html>"""


def preview_app(state: PreviewState) -> Starlette:
    """The Starlette app; ``state`` must have rendered once."""

    def current() -> tuple[Rendering | None, int, str]:
        with state.lock:
            return state.rendering, state.version, state.error

    async def index(request: Request) -> Response:
        rendering, version, error = current()
        title = html.escape(rendering.title if rendering and rendering.title else "newsletter")
        shown = f'<div class="error">{html.escape(error)}</div>' if error else ""
        page = _FRAMES % {"title": f"Preview: {title}", "error": shown, "reload": _RELOAD % version}
        return HTMLResponse(page, headers={"Cache-Control": "no-store"})

    async def email(request: Request) -> Response:
        rendering, version, _ = current()
        if rendering is None:
            return PlainTextResponse("nothing rendered yet", status_code=503)
        body = _local_images(rendering.html.read_text(encoding="utf-8"))
        script = _RELOAD % version
        body = body.replace("</body>", script + "</body>", 1) if "</body>" in body else body + script
        return HTMLResponse(body, headers={"Cache-Control": "no-store"})

    async def text(request: Request) -> Response:
        rendering, _, _ = current()
        if rendering is None:
            return PlainTextResponse("nothing rendered yet", status_code=503)
        return PlainTextResponse(
            rendering.text.read_text(encoding="utf-8"), headers={"Cache-Control": "no-store"}
        )

    async def version(request: Request) -> Response:
        _, number, error = current()
        return JSONResponse({"version": number, "error": error}, headers={"Cache-Control": "no-store"})

    async def files(request: Request) -> Response:
        rendering, _, _ = current()
        path = Path("/" + unquote(request.path_params["path"])).resolve()
        allowed = _referenced_files(rendering.html.read_text(encoding="utf-8")) if rendering else set()
        if path not in allowed or not path.is_file():
            return PlainTextResponse("not found", status_code=404)
        return FileResponse(path)

    routes = [
        Route("/", index),
        Route("/email", email),
        Route("/text", text),
        Route("/version", version),
        Route("/files/{path:path}", files),
    ]
    return Starlette(routes=routes)


def _local_images(body: str) -> str:
    """file: URLs cannot load in a page served over http; serve them through /files/ instead."""
    return body.replace('src="file:///', 'src="/files/')


def _referenced_files(body: str) -> set[Path]:
    """The local files the email shows: only these are served, never the database beside them."""
    return {Path(unquote(m)).resolve() for m in re.findall(r'src="file://(/[^"]+)"', body)}


def serve_preview(
    render: Callable[[], Rendering],
    host: str = "127.0.0.1",
    port: int = 8026,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Render, then serve until interrupted, rendering again whenever a watched file changes.

    The first render must succeed (its error is raised); later failures are shown in the page.
    ``port`` 0 picks a free port; ``ready`` is called with the URL once the server listens.
    """
    import uvicorn

    state = PreviewState(render)
    state.rendering = render()
    state.version, state.stamp = 1, _stamps(state.rendering.watch)
    sock = _listen(host, port)
    url = f"http://{host}:{sock.getsockname()[1]}/"
    stop = threading.Event()
    watcher = threading.Thread(target=state.watch_forever, args=(stop,), daemon=True, name="preview-watch")
    watcher.start()
    config = uvicorn.Config(preview_app(state), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    if ready is not None:

        def announce() -> None:
            while not server.started and not stop.wait(0.05):
                pass
            if server.started:
                ready(url)

        threading.Thread(target=announce, daemon=True).start()
    try:
        server.run(sockets=[sock])
    finally:
        stop.set()
        watcher.join(timeout=5)
        sock.close()


def _listen(host: str, port: int) -> socket.socket:
    try:
        sock = socket.create_server((host, port), reuse_port=False)
    except OSError as exc:
        raise PreviewServerError(
            f"cannot serve the preview on {host}:{port}: {exc.strerror}",
            hint="is the port in use? pick another with --port (0 picks a free one)",
        ) from exc
    return sock


class PreviewServerError(NewsletterError):
    """The preview server could not start."""
