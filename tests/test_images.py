"""Story images made for the email, against a real HTTP server on 127.0.0.1 and real Pillow.

Each story's image is fetched once, cropped to its slot's ratio, resized to twice the width it is
shown at (never enlarged), kept in the images folder and served by `newsletter serve`; a missing,
slow, broken or non-image source leaves the story without an image and a note naming it.
"""

from __future__ import annotations

import http.server
import io
import os
import re
import struct
import subprocess
import threading
import time
import tomllib
import urllib.error
import urllib.request
import zlib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
from conftest import free_port
from PIL import Image
from zygote import newsletter_process

from newsletter import store
from newsletter.collect import as_of_moment, collect
from newsletter.config import Settings, parse_settings
from newsletter.models import Issue
from newsletter.pipeline import preview
from newsletter.render import render_issue
from newsletter.sources.fetch import Fetcher
from newsletter.sources.images import CARD, HEADLINE, MAX_PIXELS, decode, file_stem, images_folder

# The image step does not depend on the database: one backend is enough.
pytestmark = pytest.mark.sqlite_only

DAY = "2024-03-15"


@dataclass
class Resource:
    body: bytes
    content_type: str = "image/jpeg"
    delay: float = 0.0
    status: int = 200


@dataclass
class ImageServer:
    """Answers each path with its Resource (404 for others) and counts the requests per path."""

    base: str = ""
    resources: dict[str, Resource] = field(default_factory=dict)
    requests: Counter[str] = field(default_factory=Counter)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"


@pytest.fixture
def server() -> Iterator[ImageServer]:
    state = ImageServer()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's hook name)
            state.requests[self.path] += 1
            resource = state.resources.get(self.path)
            if resource is None:
                self.send_error(404)
                return
            time.sleep(resource.delay)
            try:
                self.send_response(resource.status)
                self.send_header("Content-Type", resource.content_type)
                self.send_header("Content-Length", str(len(resource.body)))
                self.end_headers()
                self.wfile.write(resource.body)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting
                pass

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()


def jpeg(width: int, height: int, *, bands: bool = False, quality: int = 90) -> bytes:
    """A photo-like JPEG: a gradient, or (``bands``) red, green and blue thirds from top to bottom."""
    if bands:
        image = Image.new("RGB", (width, height), (0, 160, 0))
        image.paste((200, 0, 0), (0, 0, width, height // 3))
        image.paste((0, 0, 200), (0, height - height // 3, width, height))
    else:
        down = Image.linear_gradient("L")
        across = down.transpose(Image.Transpose.ROTATE_90)
        image = Image.merge("RGB", [c.resize((width, height)) for c in (down, across, down)])
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def png(width: int, height: int, *, transparent: bool) -> bytes:
    image = Image.new("RGBA", (width, height), (30, 90, 160, 255))
    if transparent:
        image.paste((0, 0, 0, 0), (0, 0, width // 2, height))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A small PNG file whose header claims ``width`` x ``height`` pixels (a decompression bomb's shape)."""
    data = png(4, 4, transparent=False)
    ihdr = struct.pack(">II", width, height) + data[24:29]
    return data[:16] + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr)) + data[33:]


def project(tmp_path: Path, stories: list[tuple[str, str]], images: str = "") -> Settings:
    """A newsletter whose items file holds ``stories`` as (title, image URL), newest first."""
    items = "".join(
        f'[[items]]\ntitle = "{title}"\nlink = "https://news.example.org/{n}"\n'
        f'summary = "What happened in story {n}."\ndate = {DAY}T{12 - n % 10:02d}:00:00Z\n'
        + (f'image = "{image}"\n' if image else "")
        for n, (title, image) in enumerate(stories)
    )
    (tmp_path / "items.toml").write_text(items)
    config = (
        '[newsletter]\nname = "T"\ntimezone = "UTC"\ndatabase = "n.db"\n'
        '[web]\nbase_url = "https://news.example.org"\n'
        f"[images]\n{images}\n"
        '[[sources]]\nname = "Desk"\npath = "items.toml"\nkind = "items"\n'
    )
    (tmp_path / "newsletter.toml").write_text(config)
    return parse_settings(tomllib.loads(config), tmp_path / "newsletter.toml")


def collected(settings: Settings, fetcher: Fetcher | None = None) -> Issue:
    engine = store.open_engine(settings.database_url)
    try:
        issue, _ = collect(
            settings, engine, as_of_moment(date.fromisoformat(DAY), settings.zone), fetcher=fetcher
        )
    finally:
        engine.dispose()
    return issue


def kept(settings: Settings, source: str, slot_name: str) -> Image.Image:
    slot = HEADLINE if slot_name == "headline" else CARD
    [path] = images_folder(settings).glob(file_stem(source, slot) + ".*")
    image = Image.open(path)
    image.load()
    return image


def by_title(issue: Issue) -> dict[str, object]:
    return {i.title: i for i in issue.items}


def test_a_big_photo_is_cropped_and_resized_to_twice_each_slot(tmp_path: Path, server: ImageServer) -> None:
    server.resources["/big.jpg"] = Resource(jpeg(4000, 3000))
    server.resources["/other.jpg"] = Resource(jpeg(4000, 3000))
    big, other = server.url("/big.jpg"), server.url("/other.jpg")
    settings = project(tmp_path, [("Lead story", big), ("Second story", other)])
    issue = collected(settings)
    assert issue.notes == ()
    head = issue.headline
    assert head is not None and head.title == "Lead story"
    assert re.fullmatch(r"https://news\.example\.org/images/[0-9a-f]{24}-headline\.jpg", head.image)
    assert (head.image_width, head.image_height) == (552, 289)
    [card] = issue.cards
    assert card.image.endswith("-card.jpg") and (card.image_width, card.image_height) == (184, 96)
    headline_file, card_file = kept(settings, big, "headline"), kept(settings, other, "card")
    assert headline_file.format == "JPEG" and headline_file.size == (1104, 578)
    assert card_file.size == (368, 193)
    sent = images_folder(settings) / head.image.rsplit("/", 1)[1]
    assert sent.stat().st_size < len(server.resources["/big.jpg"].body)


def test_a_big_jpeg_is_decoded_reduced(tmp_path: Path) -> None:
    # 4000x3000 decoded at half size still covers the largest slot (1104 px) on both sides
    image = decode(jpeg(4000, 3000), 1104)
    assert image.size == (2000, 1500) and image.mode == "RGB"


def test_a_small_image_is_cropped_but_never_enlarged(tmp_path: Path, server: ImageServer) -> None:
    server.resources["/small.jpg"] = Resource(jpeg(400, 300))
    source = server.url("/small.jpg")
    settings = project(tmp_path, [("Small picture", source)])
    issue = collected(settings)
    assert issue.headline is not None and issue.headline.image.endswith("-headline.jpg")
    assert (issue.headline.image_width, issue.headline.image_height) == (552, 289)  # shown at the slot's size
    assert kept(settings, source, "headline").size == (400, 209)  # the source's pixels, cut to 1.91:1
    assert kept(settings, source, "card").size == (368, 193)


def test_an_image_of_another_ratio_is_cropped_around_its_centre(tmp_path: Path, server: ImageServer) -> None:
    server.resources["/tall.jpg"] = Resource(jpeg(900, 1800, bands=True))
    source = server.url("/tall.jpg")
    collected(settings := project(tmp_path, [("Tall picture", source)]))
    image = kept(settings, source, "headline")
    assert image.size == (900, 471)
    # the middle (green) third, not the red top or the blue bottom
    for x, y in [(0, 0), (899, 0), (450, 235), (0, 470), (899, 470)]:
        r, g, b = image.getpixel((x, y))  # type: ignore[misc]
        assert g > 120 and r < 60 and b < 60, (x, y, (r, g, b))


def test_a_png_with_transparency_stays_png_and_an_opaque_one_becomes_jpeg(
    tmp_path: Path, server: ImageServer
) -> None:
    server.resources["/logo.png"] = Resource(png(800, 420, transparent=True), "image/png")
    server.resources["/flat.png"] = Resource(png(800, 420, transparent=False), "image/png")
    logo, flat = server.url("/logo.png"), server.url("/flat.png")
    settings = project(tmp_path, [("Transparent", logo), ("Opaque", flat)])
    issue = collected(settings)
    assert issue.headline is not None and issue.headline.image.endswith("-headline.png")
    image = kept(settings, logo, "headline")
    assert image.format == "PNG" and image.mode == "RGBA"
    assert image.getpixel((10, 10))[3] == 0 and image.getpixel((image.width - 10, 10))[3] == 255  # type: ignore[index]
    assert issue.cards[0].image.endswith("-card.jpg") and kept(settings, flat, "card").mode == "RGB"


def test_a_phone_photo_is_turned_upright_and_keeps_none_of_its_metadata(
    tmp_path: Path, server: ImageServer
) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: shown turned a quarter clockwise, so the 1200x600 pixels stand 600x1200
    exif[0x010F] = "PhoneMaker"
    out = io.BytesIO()
    Image.open(io.BytesIO(jpeg(1200, 600))).save(out, "JPEG", exif=exif)
    server.resources["/phone.jpg"] = Resource(out.getvalue())
    source = server.url("/phone.jpg")
    collected(settings := project(tmp_path, [("Phone photo", source)]))
    image = kept(settings, source, "headline")
    assert image.size == (600, 314)  # cut from the upright 600x1200
    assert dict(image.getexif()) == {}


@pytest.mark.parametrize(
    ("resource", "reason"),
    [
        (Resource(jpeg(1200, 800)[:3000]), "damaged image data"),
        (Resource(b"<!doctype html><title>Not found</title><p>Gone", "text/html"), "not an image"),
        (Resource(b"", status=404), "answered HTTP 404"),
        (Resource(png(1, 1, transparent=False), "image/png"), "too small (1x1 px"),
        (Resource(png_claiming(9000, 8000), "image/png"), f"over the {MAX_PIXELS:,}-pixel limit"),
        (Resource(png_claiming(30000, 30000), "image/png"), "pixel limit"),
    ],
    ids=["truncated", "html", "missing", "tracking-pixel", "over-our-limit", "decompression-bomb"],
)
def test_an_unusable_image_is_left_out_with_a_note_naming_the_story(
    tmp_path: Path, server: ImageServer, resource: Resource, reason: str
) -> None:
    server.resources["/bad"] = resource
    server.resources["/good.jpg"] = Resource(jpeg(1200, 630))
    settings = project(
        tmp_path, [("Good picture", server.url("/good.jpg")), ("Bad picture", server.url("/bad"))]
    )
    issue = collected(settings)
    stories = by_title(issue)
    assert stories["Bad picture"].image == "" and stories["Bad picture"].image_width == 0  # type: ignore[attr-defined]
    assert stories["Good picture"].image.endswith("-headline.jpg")  # type: ignore[attr-defined]
    [note] = issue.notes
    assert note.startswith("image of 'Bad picture' left out: ") and reason in note, note
    html = render_issue(settings, issue).html
    assert html.count("<img") == 1 and "Bad picture" in html


def test_a_slow_image_times_out_and_the_story_stays_without_it(tmp_path: Path, server: ImageServer) -> None:
    server.resources["/slow.jpg"] = Resource(jpeg(1200, 630), delay=3.0)
    settings = project(tmp_path, [("Slow picture", server.url("/slow.jpg"))])
    with Fetcher(read=0.3, total=2.0) as fetcher:
        issue = collected(settings, fetcher)
    assert issue.headline is not None and issue.headline.title == "Slow picture"
    assert issue.headline.image == ""
    [note] = issue.notes
    assert "image of 'Slow picture' left out" in note and "timed out" in note


def test_an_image_is_fetched_once_across_collects_and_a_failure_is_not_retried_at_once(
    tmp_path: Path, server: ImageServer
) -> None:
    server.resources["/a.jpg"] = Resource(jpeg(1200, 630))
    server.resources["/broken.jpg"] = Resource(b"\xff\xd8\xff\xe0 not really")
    settings = project(tmp_path, [("A", server.url("/a.jpg")), ("B", server.url("/broken.jpg"))])
    first = collected(settings)
    second = collected(settings)
    assert server.requests == Counter({"/a.jpg": 1, "/broken.jpg": 1})
    assert second.headline == first.headline and second.headline is not None and second.headline.image
    assert len(second.notes) == 1 and "an earlier try" in second.notes[0]


def test_the_email_points_at_base_url_with_width_and_height(tmp_path: Path, server: ImageServer) -> None:
    server.resources["/a.jpg"] = Resource(jpeg(1600, 900))
    server.resources["/b.jpg"] = Resource(jpeg(1600, 900))
    settings = project(tmp_path, [("A", server.url("/a.jpg")), ("B", server.url("/b.jpg"))])
    html = render_issue(settings, collected(settings)).html
    images = re.findall(r"<img [^>]*>", html)
    assert len(images) == 2
    for tag, slot in zip(images, (HEADLINE, CARD), strict=True):
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', tag))
        assert re.fullmatch(
            rf"https://news\.example\.org/images/[0-9a-f]{{24}}-{slot.name}\.jpg", attrs["src"]
        )
        assert attrs["width"] == str(slot.width)
        assert attrs["height"] == str(slot.height)


def test_an_images_base_url_and_folder_of_ones_own(tmp_path: Path, server: ImageServer) -> None:
    server.resources["/a.jpg"] = Resource(jpeg(1200, 630))
    settings = project(
        tmp_path,
        [("A", server.url("/a.jpg"))],
        images='folder = "public/img"\nbase_url = "https://cdn.example.net/img/"',
    )
    issue = collected(settings)
    assert issue.headline is not None
    assert re.fullmatch(r"https://cdn\.example\.net/img/[0-9a-f]{24}-headline\.jpg", issue.headline.image)
    assert (tmp_path / "public" / "img" / issue.headline.image.rsplit("/", 1)[1]).is_file()


def test_a_folder_that_cannot_be_made_leaves_the_images_out_and_says_so(
    tmp_path: Path, server: ImageServer
) -> None:
    server.resources["/a.jpg"] = Resource(jpeg(1200, 630))
    (tmp_path / "blocker").write_text("a file where the folder would go")
    settings = project(tmp_path, [("A", server.url("/a.jpg"))], images='folder = "blocker/images"')
    issue = collected(settings)
    assert issue.headline is not None and issue.headline.title == "A" and issue.headline.image == ""
    [note] = issue.notes
    assert note.startswith("image of 'A' left out: cannot create ") and "blocker" in note


def test_turned_off_the_feeds_images_are_shown_as_they_are(tmp_path: Path, server: ImageServer) -> None:
    server.resources["/a.jpg"] = Resource(jpeg(1200, 630))
    settings = project(tmp_path, [("A", server.url("/a.jpg"))], images="process = false")
    issue = collected(settings)
    assert issue.headline is not None and issue.headline.image == server.url("/a.jpg")
    assert server.requests == Counter() and not images_folder(settings).exists()


def test_the_preview_shows_the_images_from_the_folder(tmp_path: Path, server: ImageServer) -> None:
    server.resources["/a.jpg"] = Resource(jpeg(1200, 630))
    settings = project(tmp_path, [("A", server.url("/a.jpg"))])
    engine = store.open_engine(settings.database_url)
    try:
        result = preview(
            settings, engine, as_of_moment(date.fromisoformat(DAY), settings.zone), tmp_path / "out"
        )
    finally:
        engine.dispose()
    [src] = re.findall(r'<img [^>]*src="([^"]+)"', result.html.read_text())
    assert src.startswith("file://") and src.endswith("-headline.jpg")
    assert Path(urllib.request.url2pathname(src.removeprefix("file://"))).is_file()
    # what is sent points at the public address
    assert "https://news.example.org/images/" in result.rendered.html


@contextmanager
def serving(config: Path) -> Iterator[str]:
    """`newsletter serve` for ``config`` as a real process on a free port; its base URL once it answers."""
    port = free_port()
    env = {**os.environ, "NEWSLETTER_SECRET": "s" * 32}
    process = newsletter_process(
        ["--config", str(config), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if process.poll() is not None:
                raise AssertionError(
                    f"newsletter serve exited: {process.stderr.read() if process.stderr else ''}"
                )
            try:
                urllib.request.urlopen(url + "/healthz", timeout=1)  # noqa: S310
                break
            except OSError:
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def status_of(url: str) -> int:
    try:
        return urllib.request.urlopen(url, timeout=5).status  # noqa: S310
    except urllib.error.HTTPError as exc:
        return exc.code


def test_serve_serves_the_images_and_nothing_else(tmp_path: Path, server: ImageServer) -> None:
    server.resources["/a.jpg"] = Resource(jpeg(1200, 630))
    settings = project(tmp_path, [("A", server.url("/a.jpg"))])
    issue = collected(settings)
    assert issue.headline is not None
    name = issue.headline.image.rsplit("/", 1)[1]
    with serving(tmp_path / "newsletter.toml") as url:
        with urllib.request.urlopen(f"{url}/images/{name}", timeout=5) as response:  # noqa: S310
            assert response.status == 200 and response.headers["Content-Type"] == "image/jpeg"
            assert response.read() == (images_folder(settings) / name).read_bytes()
        assert status_of(f"{url}/images/{'0' * 24}-headline.jpg") == 404
        assert status_of(f"{url}/images/..%2Fnewsletter.toml") == 404
        assert status_of(f"{url}/images/n.db") == 404
