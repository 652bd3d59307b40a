"""Story images made for the email: fetched once, cut to the slot's shape, kept in a folder.

    Item.image (the feed's URL) --fetch, under the feeds' caps--> bytes --Pillow-->
        <folder>/<hash of the URL>-headline.jpg and -card.jpg (PNG when the source has transparency)
    the issue's headline and cards then point at <images base_url>/<name>, with the slot's size

Each slot has a fixed ratio and a width in the email (``SLOTS``); its file is cropped to that ratio
around the centre and resized to twice that width, for sharp images on high-density screens. A
source smaller than that is cropped but never enlarged: the mail client scales it as it would
have. JPEG, because Outlook shows no WebP; PNG only when the source has transparency. No metadata
is copied (a phone photo's EXIF can hold where it was taken).

A file's name comes from a hash of the source URL (of a local file's bytes), so an image is
fetched once, whatever the number of collects, previews and sends. A source that cannot be used (missing, slow, too big, broken, not
an image, too small) is left out: the story shows without an image, and the issue's notes name
the story and the reason. That reason is kept for ``RETRY_AFTER`` seconds so that a preview
repeated in a loop does not wait on the same slow server each time.

Memory: a JPEG is decoded already reduced (``draft``: 1/2, 1/4 or 1/8 of its size, still at
least as large as the biggest slot needs); any image over ``MAX_PIXELS`` is refused from its
header, before decoding, and so is one that would still decode to over ``MAX_DECODED_PIXELS``.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from PIL import Image, ImageOps, UnidentifiedImageError

from newsletter import models
from newsletter.config import Settings
from newsletter.errors import SourceError
from newsletter.models import Issue, Item
from newsletter.sources.fetch import MAX_BYTES, Fetcher, read_file

# Formats a mail client shows; Pillow tries only these (never EPS, which runs Ghostscript).
FORMATS = ("JPEG", "PNG", "GIF", "WEBP")  # the JPEG reader also opens MPO (cameras' JPEG)
IMAGE_ACCEPT = "image/jpeg, image/png, image/webp, image/gif;q=0.8, image/*;q=0.5"
SCALE = 2  # pixels per CSS pixel in the file
MAX_PIXELS = 64_000_000  # beyond any camera: a decompression bomb, refused from the header
MAX_DECODED_PIXELS = 20_000_000  # after a JPEG's reduced decode; 80 MB as RGBA
JPEG_QUALITY = 82
RETRY_AFTER = 3600.0  # seconds before a source that failed is tried again
WORKERS = 4  # images fetched and decoded at once (decoding holds the memory above, each)
DEFAULT_FOLDER = "email-images"
# The names the folder holds: a hash of the source URL, the slot, the format.
FILE_NAME = re.compile(r"[0-9a-f]{24}-[a-z]+\.(?:jpg|png)")


@dataclass(frozen=True, slots=True)
class Slot:
    """Where an image is shown: its width in the email (CSS px, the templates' ``models.SLOTS``)
    and its ratio (width / height)."""

    name: str
    width: int
    ratio: float

    @property
    def height(self) -> int:
        return round(self.width / self.ratio)

    @property
    def pixels(self) -> tuple[int, int]:
        """The file's size when the source is large enough."""
        return self.width * SCALE, round(self.width * SCALE / self.ratio)


# 1.91:1 for both: the Open Graph ratio most feeds' images are made in (often with text in them),
# so the usual image loses nothing to the crop.
HEADLINE = Slot("headline", models.SLOTS["headline"], 1.91)
CARD = Slot("card", models.SLOTS["card"], 1.91)
SLOTS = (HEADLINE, CARD)


class ImageProblem(Exception):
    """Why a source image cannot be used; the text completes "left out: ..."."""


def images_folder(settings: Settings) -> Path:
    """``[images] folder``, else "email-images" beside the SQLite database (or the config file)."""
    if settings.images.folder:
        return settings.path(settings.images.folder)
    url = settings.database_url
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///")).parent / DEFAULT_FOLDER
    return settings.root / DEFAULT_FOLDER


def images_base_url(settings: Settings) -> str:
    """Where the email finds the folder: ``[images] base_url``, else serve's /images."""
    return (settings.images.base_url or settings.web.base_url.rstrip("/") + "/images").rstrip("/")


def source_key(source: str) -> str:
    """What names a source's files: a hash of its URL; for a local file, of its bytes (a path names
    nothing on another machine, and a file changed in place is made again)."""
    data = source.encode("utf-8")
    if urlsplit(source).scheme.lower() == "file":
        path = _local_path(source)
        with contextlib.suppress(OSError):
            if path.stat().st_size <= MAX_BYTES:
                data = path.read_bytes()
    return hashlib.sha256(data).hexdigest()[:24]


def file_stem(source: str, slot: Slot) -> str:
    return f"{source_key(source)}-{slot.name}"


def _local_path(source: str) -> Path:
    return Path(url2pathname(urlsplit(source).path))


def find(folder: Path, source: str, slot: Slot) -> Path | None:
    """The kept file for ``source`` in ``slot``, if it was made."""
    stem = file_stem(source, slot)
    for ext in (".jpg", ".png"):
        path = folder / (stem + ext)
        if path.is_file():
            return path
    return None


def with_images(settings: Settings, issue: Issue, fetcher: Fetcher | None = None) -> Issue:
    """The issue with its headline and cards showing their prepared images (fetched when new),
    and a note for each story whose image was left out; as it is when ``[images] process`` is off."""
    if not settings.images.process:
        return issue
    shown = ([issue.headline] if issue.headline else []) + list(issue.cards)
    problems = prepare_images(images_folder(settings), [i.image for i in shown if i.image], fetcher)
    notes = [
        f"image of {item.title!r} left out: {problems[item.image]}"
        for item in shown
        if item.image in problems
    ]
    return replace(place_images(settings, issue), notes=(*issue.notes, *notes))


def place_images(settings: Settings, issue: Issue) -> Issue:
    """Point the headline and the cards at their prepared files; an image without one is left out."""
    folder, base = images_folder(settings), images_base_url(settings)

    def placed(item: Item, slot: Slot) -> Item:
        path = find(folder, item.image, slot) if item.image else None
        if path is None:
            return replace(item, image="", image_width=0, image_height=0)
        return replace(item, image=f"{base}/{path.name}", image_width=slot.width, image_height=slot.height)

    return replace(
        issue,
        headline=placed(issue.headline, HEADLINE) if issue.headline else None,
        cards=tuple(placed(card, CARD) for card in issue.cards),
    )


def prepare_images(folder: Path, sources: Sequence[str], fetcher: Fetcher | None = None) -> dict[str, str]:
    """Make the slot files of each source not yet prepared; return {source: why it was left out}."""
    now = time.time()
    todo = []
    problems: dict[str, str] = {}
    for source in dict.fromkeys(sources):
        if all(find(folder, source, slot) for slot in SLOTS):
            continue
        earlier = _earlier_failure(folder, source, now)
        if earlier:
            problems[source] = earlier
        else:
            todo.append(source)
    if not todo:
        return problems
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return problems | {s: f"cannot create {folder}: {exc.strerror or exc}" for s in todo}
    own = fetcher is None
    fetcher = fetcher or Fetcher(connections=WORKERS)
    try:
        with ThreadPoolExecutor(max_workers=min(WORKERS, len(todo))) as pool:
            for source, problem in zip(
                todo, pool.map(lambda s: _prepare(folder, s, fetcher), todo), strict=True
            ):
                if problem:
                    problems[source] = problem
    finally:
        if own:
            fetcher.close()
    return problems


def _prepare(folder: Path, source: str, fetcher: Fetcher) -> str:
    """Fetch and make one source's slot files; the reason it cannot be used, or ""."""
    try:
        body = _fetch(source, fetcher)
        for slot, image in make_slot_images(body):
            _keep(image, folder / (file_stem(source, slot) + (".png" if image.mode == "RGBA" else ".jpg")))
    except ImageProblem as exc:
        problem = str(exc)
    except SourceError as exc:
        problem = exc.message.split(": ", 1)[-1] if exc.message.startswith("source ") else exc.message
    except OSError as exc:
        problem = f"cannot write to {folder}: {exc.strerror or exc}"
    else:
        _failure_file(folder, source).unlink(missing_ok=True)
        return ""
    with contextlib.suppress(OSError):  # remembered when possible; the story is left out either way
        _failure_file(folder, source).write_text(problem, encoding="utf-8")
    return problem


def _fetch(source: str, fetcher: Fetcher) -> bytes:
    scheme = urlsplit(source).scheme.lower()
    if scheme == "file":
        return read_file(_local_path(source), name="image", max_bytes=fetcher.max_bytes).body
    if scheme not in ("http", "https"):
        raise ImageProblem(f"{source!r} is not an http(s) URL")
    return fetcher.fetch(source, name="image", accept=IMAGE_ACCEPT).body


def make_slot_images(body: bytes) -> list[tuple[Slot, Image.Image]]:
    """Decode once, then one image per slot: cropped to its ratio, at most twice its width.

    RGBA when the source has transparency (to be kept as PNG), else RGB.
    """
    image = decode(body, max(max(slot.pixels) for slot in SLOTS))
    smallest = min(SLOTS, key=lambda s: s.width)
    left, _, right, _ = _crop_box(image.size, smallest.ratio)
    if right - left < smallest.width:  # an icon or a tracking pixel, not a picture of the story
        w, h = image.size
        raise ImageProblem(f"too small ({w}x{h} px; a story image needs at least {smallest.width} px across)")
    return [(slot, fit(image, slot)) for slot in SLOTS]


def decode(body: bytes, need: int) -> Image.Image:
    """The image, upright, as RGB or RGBA; a JPEG decoded reduced while both sides stay >= ``need``."""
    try:
        with Image.open(io.BytesIO(body), formats=FORMATS) as image:
            w, h = image.size
            if w * h > MAX_PIXELS:
                raise ImageProblem(f"{w}x{h} px is over the {MAX_PIXELS:,}-pixel limit")
            if image.format in ("JPEG", "MPO"):
                image.draft(None, (need, need))
            if image.size[0] * image.size[1] > MAX_DECODED_PIXELS:
                raise ImageProblem(
                    f"{w}x{h} px would take too much memory to decode (limit {MAX_DECODED_PIXELS:,} pixels)"
                )
            image.load()
            ImageOps.exif_transpose(image, in_place=True)
            mode = "RGBA" if _has_transparency(image) else "RGB"
            return image if image.mode == mode else image.convert(mode)
    except Image.DecompressionBombError as exc:
        raise ImageProblem(f"over the pixel limit ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise ImageProblem(f"not an image in a format email shows ({', '.join(FORMATS)})") from exc
    except (OSError, SyntaxError, ValueError) as exc:  # Pillow's errors for damaged data
        raise ImageProblem(f"damaged image data ({exc})") from exc


def _has_transparency(image: Image.Image) -> bool:
    if image.mode not in ("RGBA", "LA", "PA") and "transparency" not in image.info:
        return False
    alpha = image.convert("RGBA").getchannel("A").getextrema()
    return bool(alpha[0] < 255)  # type: ignore[index, operator]


def _crop_box(size: tuple[int, int], ratio: float) -> tuple[int, int, int, int]:
    """The largest centred box of ``ratio`` inside ``size``."""
    w, h = size
    cw, ch = (round(h * ratio), h) if w / h > ratio else (w, round(w / ratio))
    cw, ch = max(1, min(cw, w)), max(1, min(ch, h))
    left, top = (w - cw) // 2, (h - ch) // 2
    return left, top, left + cw, top + ch


def fit(image: Image.Image, slot: Slot) -> Image.Image:
    """Crop to the slot's ratio around the centre; shrink to the slot's pixels, never enlarge."""
    box = _crop_box(image.size, slot.ratio)
    width, height = slot.pixels
    if box[2] - box[0] > width:
        return image.resize((width, height), Image.Resampling.LANCZOS, box=box, reducing_gap=3.0)
    return image.crop(box)


def _keep(image: Image.Image, path: Path) -> None:
    """Write the file whole or not at all (another process may read the folder meanwhile)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            if path.suffix == ".png":
                image.save(out, "PNG", optimize=True)
            else:
                image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
        os.chmod(tmp, 0o644)  # public files: a web server or a sync to a static host reads them
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _failure_file(folder: Path, source: str) -> Path:
    return folder / f".{source_key(source)}.failed"


def _earlier_failure(folder: Path, source: str, now: float) -> str:
    """The reason a recent try failed, while it is recent; "" when the source is to be tried."""
    path = _failure_file(folder, source)
    try:
        if now - path.stat().st_mtime < RETRY_AFTER:
            return path.read_text(encoding="utf-8") + " (an earlier try; tried again after an hour)"
    except OSError:
        pass
    return ""


def local_image_urls(settings: Settings, html: str) -> str:
    """``html`` with its prepared images as file: URLs of the folder, for a preview on this machine
    (the public base_url may not serve them yet, or be this machine's serve, not running)."""
    if not settings.images.process:
        return html
    folder = images_folder(settings).resolve()

    def local(match: re.Match[str]) -> str:
        path = folder / match[1]
        return path.as_uri() if path.is_file() else match[0]

    return re.sub(re.escape(images_base_url(settings) + "/") + f"({FILE_NAME.pattern})", local, html)
