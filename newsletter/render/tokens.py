"""Per-recipient placeholders: rendered once as ``@@name@@``, substituted per subscriber.

Tokens use only letters, digits, ``_`` and ``@``: premailer and MJML leave them untouched
(spaces and some punctuation get percent-encoded inside attributes).
"""

from __future__ import annotations

import functools
import re

TOKEN = re.compile(r"@@([a-z][a-z0-9_]{0,63})@@")
RESERVED = ("email", "name", "first_name", "unsubscribe_url", "unsubscribe_mailto")


def token(name: str) -> str:
    return f"@@{name}@@"


@functools.lru_cache(maxsize=256)  # a subscriber's columns, named again for each message
def field_name(column: str) -> str:
    """A CSV column as a token name: lower case, non-alphanumerics as ``_``."""
    name = re.sub(r"[^a-z0-9_]+", "_", column.strip().lower()).strip("_")
    return name if name and name[0].isalpha() else f"f_{name}"


class SubscriberTokens:
    """What templates see as ``subscriber``: each attribute is that value's placeholder.

    ``{{ subscriber.name }}``, ``{{ subscriber.email }}``, ``{{ subscriber.city }}`` (an extra CSV
    column). The value is filled in for each recipient, so Jinja filters and tests do not see it.
    """

    def __getattr__(self, name: str) -> str:
        if name.startswith("_"):
            raise AttributeError(name)
        return token(field_name(name))

    def __getitem__(self, name: str) -> str:
        return token(field_name(name))
