"""Headless Chromium, driven over its DevTools protocol through a pipe: screenshots and page checks.

No browser is downloaded and no websocket library is needed: Chromium is started with
``--remote-debugging-pipe`` and speaks JSON messages ending in NUL on file descriptors 3 (its
input) and 4 (its output). ``Browser`` opens pages of a given width; ``Page`` loads a URL, evaluates
JavaScript and takes full-page PNG screenshots.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from newsletter.errors import RenderError

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
BROWSER_ENV = "NEWSLETTER_CHROMIUM"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-extensions",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-pipe",
)
# The two sizes the editor checks: a desktop reading pane and a phone.
DESKTOP = 600
PHONE = 375
# Removes every <style> element: what clients that drop them (Gmail's apps with other accounts) show.
DROP_STYLES = "document.querySelectorAll('style').forEach((s) => s.remove()); document.styleSheets.length"


@dataclass(frozen=True)
class View:
    """How a reader sees the email: the window's width, light or dark, and whether <style> is read."""

    width: int
    scheme: str = "light"
    styles: bool = True


# What `preview --screenshots` shows the editor: desktop and phone, a phone in dark mode, and a phone
# whose client drops <style> (the inline styles alone).
VIEWS = {
    "desktop": View(DESKTOP),
    "phone": View(PHONE),
    "dark": View(PHONE, scheme="dark"),
    "nostyle": View(PHONE, styles=False),
}


class BrowserError(RenderError):
    """Chromium is missing, failed to start, or did not answer."""


def find_chromium() -> str:
    """The Chromium executable: $NEWSLETTER_CHROMIUM, or the first known name on PATH."""
    explicit = os.environ.get(BROWSER_ENV, "")
    if explicit:
        if shutil.which(explicit):
            return str(shutil.which(explicit))
        raise BrowserError(
            f"${BROWSER_ENV} is {explicit!r}, which is not an executable",
            hint="point it at a Chromium or Chrome binary, or unset it",
        )
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise BrowserError(
        "no Chromium browser found (looked for " + ", ".join(CANDIDATES) + " on PATH)",
        hint="install it (Debian/Ubuntu: apt-get install chromium), or set "
        f"${BROWSER_ENV} to the browser's path",
    )


@dataclass
class _Pipe:
    """The browser's end of the protocol: write to ``to_browser``, read from ``from_browser``."""

    to_browser: int
    from_browser: int
    buffer: bytes = b""

    def write(self, message: dict[str, Any]) -> None:
        data = json.dumps(message).encode("utf-8") + b"\0"
        while data:
            data = data[os.write(self.to_browser, data) :]

    def read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.from_browser], [], [], remaining)[0]:
                raise BrowserError("Chromium did not answer in time", hint="try again; is the machine busy?")
            chunk = os.read(self.from_browser, 1 << 20)
            if not chunk:
                raise BrowserError(
                    "Chromium closed the connection", hint="run it by hand to see why it exits"
                )
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        return dict(json.loads(raw))


class Browser:
    """One headless Chromium process; use as a context manager."""

    def __init__(self, executable: str | None = None, timeout: float = 30.0) -> None:
        self.executable = executable or find_chromium()
        self.timeout = timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._pipe: _Pipe | None = None
        self._profile: tempfile.TemporaryDirectory[str] | None = None
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def __enter__(self) -> Browser:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def start(self) -> None:
        self._profile = tempfile.TemporaryDirectory(prefix="newsletter-chromium-")
        commands_r, commands_w = os.pipe()
        replies_r, replies_w = os.pipe()

        def wire_fds() -> None:  # in the child: its fd 3 reads our commands, fd 4 carries its replies
            high_r = os.dup(commands_r) if commands_r in (3, 4) else commands_r
            high_w = os.dup(replies_w) if replies_w in (3, 4) else replies_w
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        args = [self.executable, *FLAGS, f"--user-data-dir={self._profile.name}", "about:blank"]
        try:
            self._process = subprocess.Popen(  # noqa: S603 (a fixed argument list)
                args,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                preexec_fn=wire_fds,  # noqa: PLW1509
                close_fds=False,
            )
        except OSError as exc:
            raise BrowserError(f"cannot start {self.executable}: {exc}", hint="is it installed?") from exc
        finally:
            os.close(commands_r)
            os.close(replies_w)
        self._pipe = _Pipe(commands_w, replies_r)

    def send(self, method: str, params: dict[str, Any] | None = None, session: str = "") -> dict[str, Any]:
        """Send one command and wait for its answer; events that arrive meanwhile are kept."""
        if self._pipe is None:
            raise BrowserError("the browser is not started")
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._pipe.write(message)
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._pipe.read(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"Chromium refused {method}: {reply['error'].get('message')}")
                return dict(reply.get("result", {}))
            self.events.append(reply)

    def wait_for(self, method: str, session: str = "") -> dict[str, Any]:
        """Wait for an event (or take it from those already received)."""
        if self._pipe is None:
            raise BrowserError("the browser is not started")
        deadline = time.monotonic() + self.timeout
        while True:
            for i, event in enumerate(self.events):
                if event.get("method") == method and (not session or event.get("sessionId") == session):
                    del self.events[i]
                    return event
            self.events.append(self._pipe.read(deadline))

    def new_page(self, width: int, height: int = 800) -> Page:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session)
        page.resize(width, height)
        return page

    def close(self) -> None:
        if self._pipe is not None:
            with contextlib.suppress(OSError):  # it may be gone already
                self._pipe.write({"id": 0, "method": "Browser.close", "params": {}})
            os.close(self._pipe.to_browser)
            os.close(self._pipe.from_browser)
            self._pipe = None
        if self._process is not None:
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        if self._profile is not None:
            self._profile.cleanup()
            self._profile = None


class Page:
    """A tab of a given width; widths under 600 px are emulated as a phone (touch, mobile viewport)."""

    def __init__(self, browser: Browser, session: str) -> None:
        self.browser = browser
        self.session = session
        self.width = 0
        self.requests: list[str] = []
        for domain in ("Page", "Runtime", "Network"):
            self.send(f"{domain}.enable")

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.browser.send(method, params, self.session)

    def resize(self, width: int, height: int) -> None:
        self.width = width
        mobile = width < DESKTOP
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
        )
        self.send("Emulation.setTouchEmulationEnabled", {"enabled": mobile})

    def set_color_scheme(self, scheme: str) -> None:
        """Emulate ``prefers-color-scheme``: "light" or "dark"."""
        features = [{"name": "prefers-color-scheme", "value": scheme}]
        self.send("Emulation.setEmulatedMedia", {"features": features})

    def open(self, url: str, view: View) -> None:
        """Load ``url`` as ``view`` shows it: its colour scheme, with or without the <style> elements."""
        self.set_color_scheme(view.scheme)
        self.goto(url)
        if not view.styles:
            self.evaluate(DROP_STYLES)

    def goto(self, url: str) -> None:
        """Load a URL and wait for its load event (images included)."""
        self.browser.events.clear()
        self.send("Page.navigate", {"url": url})
        self.browser.wait_for("Page.loadEventFired", self.session)
        self.requests += [
            e["params"]["request"]["url"]
            for e in self.browser.events
            if e.get("method") == "Network.requestWillBeSent" and e.get("sessionId") == self.session
        ]

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise BrowserError(f"JavaScript failed: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def screenshot(self) -> bytes:
        """The whole page as PNG, at the page's width."""
        height = int(self.evaluate("Math.ceil(document.documentElement.scrollHeight)") or 1)
        shot = self.send(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": self.width, "height": height, "scale": 1},
            },
        )
        return base64.b64decode(shot["data"])


def screenshots(html: Path, out_dir: Path, views: dict[str, View] | None = None) -> list[Path]:
    """PNGs of an HTML file as each view shows it (default ``VIEWS``), named ``<stem>-<view>.png``."""
    written = []
    with Browser() as browser:
        for name, view in (views or VIEWS).items():
            page = browser.new_page(view.width)
            page.open(html.resolve().as_uri(), view)
            path = out_dir / f"{html.stem}-{name}.png"
            path.write_bytes(page.screenshot())
            written.append(path)
    return written
