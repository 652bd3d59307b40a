"""Signing up through `serve`'s form: telling people from bots, the confirmation link, and the emails.

    form stamp         "<ms>.<HMAC>": when the form was shown, signed; a form sent sooner than
                       [web] signup_min_seconds after it, with the hidden honeypot field filled,
                       or with a forged stamp is a bot's, and is answered as usual but does nothing
    question           with [web] signup_question, the form asks the sum of two numbers from one
                       to ten, written in words; both are drawn from the stamp's signature, so the
                       server keeps nothing, and a wrong answer shows the form again
    confirmation link  {base_url}/confirm/<token>: AES-GCM (key derived from the secret) of the
                       time of the request and the address, so it is opaque, cannot be altered,
                       and expires after 7 days
    emails             the confirmation holds no text the requester typed (bots fill the name
                       field with spam), the address only as its recipient; the welcome email
                       ([subscribers] welcome) is a template of the operator's

``Signups`` is what the web pages call: ``take`` a posted form, ``confirm`` a link. Both return a
``Reply`` whose ``follow_up`` (sending an email) runs after the answer has gone, so a request that
sends mail is answered exactly like one that does not. Importing this module does not import the
scheduler.
"""

from __future__ import annotations

import binascii
import contextlib
import hashlib
import hmac
import logging
import os
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import jinja2
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Engine

from newsletter.compose import list_id
from newsletter.config import Settings
from newsletter.errors import ConfigError, NewsletterError, SubscriberError
from newsletter.store import signups as stored
from newsletter.store.journal import Journal
from newsletter.subscribers import b64url, normalise_email, refuse_when_mirrored, unb64url, unsubscribe_token
from newsletter.transports import send_note, transport_for

log = logging.getLogger(__name__)

LINK_DAYS = 7
FORM_HOURS = 24  # a form shown longer ago than this is sent back with a fresh stamp
MAX_NAME = 100
HONEYPOT = "website"  # hidden from people by the page's style; bots fill every field

EMAIL_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "confirm_subject": "Please confirm your subscription to {name}",
        "confirm_body": (
            "Someone, probably you, asked to receive {name} at this address.\n\n"
            "To confirm, open this link within 7 days:\n\n{link}\n\n"
            "If it was not you, ignore this email: nothing more will be sent to this address.\n"
        ),
    },
    "fr": {
        "confirm_subject": "Confirmez votre abonnement à {name}",
        "confirm_body": (
            "Quelqu’un, sans doute vous, a demandé à recevoir {name} à cette adresse.\n\n"
            "Pour confirmer, ouvrez ce lien dans les 7 jours :\n\n{link}\n\n"
            "Si ce n’était pas vous, ignorez ce courriel : rien d’autre ne sera envoyé à cette adresse.\n"
        ),
    },
}


class Verdict(StrEnum):
    PERSON = "person"
    BOT = "bot"  # honeypot filled, sent too fast, or a forged stamp: answered as usual, nothing done
    AGAIN = "again"  # no stamp (a form pasted on another site) or an old one: the form comes back
    WRONG = "wrong"  # the question's answer is wrong: the form comes back with a new question


class Answer(StrEnum):
    THANKS = "thanks"  # the one answer for every address: new, pending, active, suppressed, forgotten
    AGAIN = "again"  # the form again, the address filled in, to be sent from our page
    WRONG_ANSWER = "wrong-answer"  # the form again: the question was answered wrongly
    INVALID = "invalid"  # an address the person can fix
    CLOSED = "closed"  # [subscribers] mirror = true
    CONFIRMED = "confirmed"
    BAD_LINK = "bad-link"  # forged, altered, expired, or made before the address left


@dataclass(frozen=True, slots=True)
class Form:
    email: str = ""
    name: str = ""
    honeypot: str = ""
    stamp: str = ""
    answer: str = ""


@dataclass(frozen=True, slots=True)
class Reply:
    answer: Answer
    email: str = ""  # only for AGAIN and INVALID, which show the form again as typed
    problem: str = ""
    follow_up: Callable[[], None] | None = None


# --- tokens --------------------------------------------------------------------------------


def _mac(secret: str, purpose: str, list_name: str, value: str) -> str:
    message = f"{purpose}\0{list_name}\0{value}".encode()
    return b64url(hmac.new(secret.encode(), message, hashlib.sha256).digest())


def form_stamp(secret: str, list_name: str, at: float) -> str:
    """When the form was shown (milliseconds), signed."""
    ms = str(int(at * 1000))
    return f"{ms}.{_mac(secret, 'signup-form', list_name, ms)}"


def question(secret: str, list_name: str, stamp: str) -> tuple[int, int]:
    """The two numbers (1 to 10) whose sum the form with this stamp asks for."""
    ms = stamp.partition(".")[0]
    drawn = hmac.new(secret.encode(), f"signup-question\0{list_name}\0{ms}".encode(), hashlib.sha256).digest()
    return drawn[0] % 10 + 1, drawn[1] % 10 + 1


def judge(
    secret: str, list_name: str, form: Form, at: float, min_seconds: float, asks: bool = False
) -> Verdict:
    if form.honeypot:
        return Verdict.BOT
    if not form.stamp:
        return Verdict.AGAIN
    ms, _, mac = form.stamp.partition(".")
    if not ms.isdigit() or not hmac.compare_digest(
        mac.encode(), _mac(secret, "signup-form", list_name, ms).encode()
    ):
        return Verdict.BOT
    age = at - int(ms) / 1000
    if age < min_seconds:
        return Verdict.BOT
    if age > FORM_HOURS * 3600:
        return Verdict.AGAIN
    if asks and form.answer.strip() != str(sum(question(secret, list_name, form.stamp))):
        return Verdict.WRONG
    return Verdict.PERSON


def _link_key(secret: str, list_name: str) -> bytes:
    return hmac.new(secret.encode(), f"signup-confirm\0{list_name}".encode(), hashlib.sha256).digest()


def confirmation_token(secret: str, list_name: str, email: str, at: float) -> str:
    """The time of the request and the address, encrypted and authenticated: nothing readable in it."""
    nonce = os.urandom(12)
    sealed = AESGCM(_link_key(secret, list_name)).encrypt(
        nonce, struct.pack(">Q", int(at * 1000)) + email.encode(), b"confirm"
    )
    return b64url(nonce + sealed)


def read_confirmation(secret: str, list_name: str, token: str, at: float) -> tuple[str, float] | None:
    """(address, time of the request) of a link made less than 7 days before ``at``; None otherwise."""
    if len(token) > 1024:
        return None
    try:
        raw = unb64url(token)
        plain = AESGCM(_link_key(secret, list_name)).decrypt(raw[:12], raw[12:], b"confirm")
        email = plain[8:].decode("utf-8")
    except (ValueError, binascii.Error, InvalidTag, UnicodeDecodeError):
        return None
    asked = struct.unpack(">Q", plain[:8])[0] / 1000  # milliseconds: compared with when an address left
    if not 0 <= at - asked <= LINK_DAYS * 86400:
        return None
    return email, asked


# --- emails --------------------------------------------------------------------------------


def welcome_template(settings: Settings) -> jinja2.Template | None:
    """[subscribers] welcome, checked now (rendered once) rather than at the first signup; None when unset."""
    if not settings.subscribers.welcome:
        return None
    file = settings.path(settings.subscribers.welcome)
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    try:
        template = environment.from_string(file.read_text(encoding="utf-8"))
        welcome_body(settings, template, "https://example.org/unsubscribe")
        settings.subscribers.welcome_subject.format(name="")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"[subscribers] welcome: cannot read {file}: {exc}") from exc
    except jinja2.TemplateError as exc:
        line = getattr(exc, "lineno", None)
        raise ConfigError(
            f"[subscribers] welcome: {file}{f':{line}' if line else ''}: {exc.message}",
            hint="the template sees newsletter.name, archive_url and unsubscribe_url",
        ) from exc
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(
            f"[subscribers] welcome_subject: cannot fill in {exc}",
            hint="it may hold {name}, the newsletter's name",
        ) from exc
    return template


def welcome_body(settings: Settings, template: jinja2.Template, unsubscribe_url: str) -> str:
    archive = settings.web.base_url.rstrip("/") + "/archive"
    return template.render(
        newsletter=settings.newsletter, archive_url=archive, unsubscribe_url=unsubscribe_url
    )


def _clean_name(value: str) -> str:
    return " ".join(re.sub(r"[\x00-\x1f\x7f]", " ", value).split())[:MAX_NAME]


class Signups:
    """The signup form's decisions for one newsletter: its settings, its database, a clock."""

    def __init__(self, settings: Settings, engine: Engine, clock: Callable[[], float]) -> None:
        self.settings = settings
        self.engine = engine
        self.clock = clock
        self.list_name = list_id(settings)
        language = settings.newsletter.language.split("-")[0].lower()
        self.text = EMAIL_TEXT.get(language, EMAIL_TEXT["en"])
        self.base = settings.web.base_url.rstrip("/")
        self.welcome = welcome_template(settings)
        if settings.delivery.transport == "maildir":
            # Made once here: concurrent first sends would race to create its cur/new/tmp folders.
            with contextlib.suppress(NewsletterError):
                transport_for(settings).open()

    @property
    def closed(self) -> bool:
        try:
            refuse_when_mirrored(self.settings, "signup")
        except SubscriberError:
            return True
        return False

    def stamp(self) -> str:
        return form_stamp(self.settings.secret, self.list_name, self.clock())

    def question(self, stamp: str) -> tuple[int, int] | None:
        """The numbers the form with this stamp asks to add up; None when the form asks nothing."""
        if not self.settings.web.signup_question:
            return None
        return question(self.settings.secret, self.list_name, stamp)

    def take(self, form: Form, client: str) -> Reply:
        """Decide one posted form (a database write: the web app runs it in a worker thread)."""
        if self.closed:
            return Reply(Answer.CLOSED)
        at = self.clock()
        web = self.settings.web
        verdict = judge(
            self.settings.secret, self.list_name, form, at, web.signup_min_seconds, web.signup_question
        )
        if verdict == Verdict.BOT:
            return Reply(Answer.THANKS)
        try:
            email = normalise_email(form.email[:320])
        except ValueError as exc:
            return Reply(Answer.INVALID, email=form.email[:320], problem=str(exc))
        if verdict == Verdict.AGAIN:
            return Reply(Answer.AGAIN, email=email)
        if verdict == Verdict.WRONG:
            return Reply(Answer.WRONG_ANSWER, email=email)
        done = stored.request(
            self.engine,
            email,
            client,
            _clean_name(form.name),
            at=at,
            double_opt_in=self.settings.subscribers.double_opt_in,
            client_limit=self.settings.web.signups_per_client_per_hour,
        )
        if done.outcome == stored.Outcome.CONFIRM:
            return Reply(Answer.THANKS, follow_up=lambda: self.send_confirmation(email, at, done.request_id))
        if done.outcome == stored.Outcome.WELCOME and self.welcome is not None:
            return Reply(Answer.THANKS, follow_up=lambda: self.send_welcome(email))
        return Reply(Answer.THANKS)

    def confirm(self, token: str) -> Reply:
        """Follow a confirmation link (the POST the page makes): the address becomes active."""
        if self.closed:
            return Reply(Answer.CLOSED)
        found = read_confirmation(self.settings.secret, self.list_name, token, self.clock())
        if found is None:
            return Reply(Answer.BAD_LINK)
        email, asked = found
        result = stored.confirm(self.engine, email, asked)
        if result == stored.Confirmed.STALE:
            return Reply(Answer.BAD_LINK)
        if (
            result == stored.Confirmed.ACTIVATED
        ):  # back with consent: the next send must not suppress it again
            Journal(self.settings.journal_path).allow([email])
        if result == stored.Confirmed.ACTIVATED and self.welcome is not None:
            return Reply(Answer.CONFIRMED, follow_up=lambda: self.send_welcome(email))
        return Reply(Answer.CONFIRMED)

    def send_confirmation(self, email: str, at: float, request_id: int) -> None:
        token = confirmation_token(self.settings.secret, self.list_name, email, at)
        name = self.settings.newsletter.name
        body = self.text["confirm_body"].format(name=name, link=f"{self.base}/confirm/{token}")
        try:
            send_note(self.settings, email, self.text["confirm_subject"].format(name=name), body)
        except NewsletterError as exc:
            log.error("cannot send a signup confirmation: %s", exc.message)
            stored.unmark(self.engine, request_id)

    def send_welcome(self, email: str) -> None:
        assert self.welcome is not None
        unsubscribe = (
            f"{self.base}/unsubscribe/{unsubscribe_token(self.settings.secret, self.list_name, email)}"
        )
        body = welcome_body(self.settings, self.welcome, unsubscribe)
        subject = self.settings.subscribers.welcome_subject.format(name=self.settings.newsletter.name)
        headers = {
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
        try:
            send_note(self.settings, email, subject, body, headers)
        except NewsletterError as exc:
            log.error("cannot send a welcome email: %s", exc.message)

    def prune(self) -> None:
        stored.prune(self.engine, self.clock())
