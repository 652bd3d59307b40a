"""The exceptions newsletter raises; callers catch ``NewsletterError`` and nothing else.

::

    NewsletterError(message, hint)
     +-- ConfigError       newsletter.toml or the environment is wrong
     +-- SourceError       a feed or items file cannot be fetched or parsed
     +-- CollectError      no source could be read, or the draft cannot be used
     +-- RenderError       a template or the MJML it produces is wrong
     +-- SubscriberError   the subscriber list cannot be read
     +-- DeliveryError     the mail server or the outbox refuses us
     +-- StoreError        the database cannot be opened or is in use

Lower-level library errors are mapped at the boundary (``raise SourceError(...) from exc``).
"""

from __future__ import annotations


class NewsletterError(Exception):
    """An error a user can act on: what went wrong, and what to do about it."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class ConfigError(NewsletterError):
    pass


class SourceError(NewsletterError):
    pass


class CollectError(NewsletterError):
    pass


class RenderError(NewsletterError):
    pass


class SubscriberError(NewsletterError):
    pass


class DeliveryError(NewsletterError):
    pass


class StoreError(NewsletterError):
    pass
