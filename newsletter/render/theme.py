"""The [theme] settings as templates see them: colours derived from the accent, the logo as a URL."""

from __future__ import annotations

import re
from typing import Any

from babel.core import Locale, UnknownLocaleError

from newsletter.config import Settings
from newsletter.errors import RenderError

# A system font stack: nothing is fetched, and every client picks a font it has.
FONT_FAMILY = "-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
_HEX = re.compile(r"^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


def theme_context(settings: Settings) -> dict[str, Any]:
    theme = settings.theme
    accent = _rgb(theme.accent)
    return {
        "accent": theme.accent,
        "on_accent": "#ffffff" if _luminance(accent) < 0.4 else "#102a43",
        "accent_on_dark": _hex(_mix(accent, (255, 255, 255), 0.55)),
        "logo": logo_url(settings),
        "logo_width": theme.logo_width,
        "footer": theme.footer,
        "font_family": FONT_FAMILY,
    }


def logo_url(settings: Settings) -> str:
    """An http(s) or data URL as given; a path (relative to the config file) as a file URL for previews."""
    logo = settings.theme.logo
    if not logo or re.match(r"^[a-z][a-z0-9+.-]*:", logo, re.IGNORECASE):
        return logo
    return settings.path(logo).resolve().as_uri()


def direction(language: str) -> str:
    try:
        order = Locale.parse(language.replace("-", "_")).character_order
    except (UnknownLocaleError, ValueError):
        return "ltr"
    return "rtl" if order == "right-to-left" else "ltr"


def _rgb(color: str) -> tuple[int, int, int]:
    if not _HEX.match(color):
        raise RenderError(
            f"[theme] accent {color!r} is not a hex colour", hint='write it as "#004990" or "#049"'
        )
    digits = color[1:] if len(color) == 7 else "".join(c * 2 for c in color[1:])
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], amount: float) -> tuple[int, int, int]:
    r, g, bl = (round(x + (y - x) * amount) for x, y in zip(a, b, strict=True))
    return r, g, bl


def _luminance(rgb: tuple[int, int, int]) -> float:
    """Relative luminance (WCAG), 0 for black to 1 for white."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b
