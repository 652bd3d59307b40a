"""newsletter.toml + environment -> ``Settings``, validated once at the edge.

Relative paths are resolved against the config file's folder. Secrets (the SMTP password, the
signing secret) are read only from the environment variables the config names.
"""

from __future__ import annotations

import functools
import os
import re
import tomllib
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from newsletter.errors import ConfigError

CONFIG_ENV = "NEWSLETTER_CONFIG"
DEFAULT_CONFIG = "newsletter.toml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class NewsletterSection(_Section):
    name: str = "Newsletter"
    timezone: str = "UTC"
    language: str = "en"
    database: str = "newsletter.db"
    database_env: str = "NEWSLETTER_DATABASE"
    templates: str = ""
    period: Literal["weekly"] = "weekly"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name such as Europe/Brussels)"
            ) from exc
        return value


class SenderSection(_Section):
    from_: str = Field("Newsletter <newsletter@example.org>", alias="from")
    reply_to: str = ""
    postal_address: str = ""
    admin: str = ""  # where alerts go when a scheduled send fails

    @field_validator("from_")
    @classmethod
    def _an_address(cls, value: str) -> str:
        address = parseaddr(value)[1]
        try:
            validate_email(address, check_deliverability=False)
        except EmailNotValidError as exc:
            raise ValueError(f'needs an email address, as in "News <news@example.org>" ({exc})') from None
        return value


class SourceSection(_Section):
    name: str
    url: str = ""
    path: str = ""
    label: str = ""
    limit: Annotated[int, Field(ge=1)] | None = None
    kind: Literal["feed", "items"] = "feed"
    placement: Literal["auto", "links"] = "auto"  # "links": this source's items go to the further-links list
    og_image: bool = False  # fetch the article page's og:image for items that have no image
    # What goes in (newsletter.sources.filters): rules over an entry's title, summary and categories,
    # each a word or phrase (whole words, any case) or a "/regular expression/" ("/.../i": any case).
    include: tuple[str, ...] = ()  # when given, an entry must match one
    exclude: tuple[str, ...] = ()  # an entry matching one is left out
    categories: tuple[str, ...] = ()  # when given, only entries filed under one of these (any case)
    min_age: str = ""  # e.g. "6h": an entry younger than this at the issue's cutoff waits for the next one

    @field_validator("include", "exclude", "categories", mode="before")
    @classmethod
    def _one_or_more(cls, value: object) -> object:
        return (value,) if isinstance(value, str) else value

    @field_validator("include", "exclude")
    @classmethod
    def _rules(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for rule in value:
            filter_pattern(rule)  # ValueError naming the rule
        return value

    @field_validator("min_age")
    @classmethod
    def _duration(cls, value: str) -> str:
        if value:
            duration_spec(value)
        return value

    @model_validator(mode="after")
    def _one_location(self) -> SourceSection:
        if bool(self.url) == bool(self.path):
            raise ValueError("give exactly one of url or path")
        return self

    @property
    def settle(self) -> timedelta:
        """``min_age`` as a timedelta (zero when unset)."""
        return duration_spec(self.min_age) if self.min_age else timedelta(0)


class FeedsSection(_Section):
    """How every [[sources]] entry is watched. A table of its own name: TOML cannot have a [sources]
    table beside the [[sources]] array of tables."""

    alert_after: Annotated[int, Field(ge=1)] = 3  # failed reads in a row before the editors are emailed
    quiet_after: Annotated[int, Field(ge=0)] = 4  # periods with nothing new before they are; 0: never


class ThemeSection(_Section):
    accent: str = "#0b5394"
    logo: str = ""
    logo_width: Annotated[int, Field(ge=16, le=552)] = 180  # px in the email
    footer: str = ""
    date_format: str = "d MMMM y"  # a CLDR date pattern, e.g. "EEEE d MMMM y"


class IssueSection(_Section):
    subject: str = "{name}: {date}"
    teasers: Annotated[int, Field(ge=0)] = 2
    max_cards: Annotated[int, Field(ge=0)] = 12
    max_links: Annotated[int, Field(ge=0)] = 10
    min_items: Annotated[int, Field(ge=0)] = (
        1  # fewer new items: nothing is sent, they roll into the next issue
    )
    summary_length: Annotated[int, Field(ge=40)] = 300
    max_html_bytes: Annotated[int, Field(ge=10_000)] = 90_000


class SubscribersSection(_Section):
    csv: str = ""
    # true: the CSV is the whole list; a row deleted from it stops mail, and `subscribers import`,
    # `add` and the signup form refuse. false (the default): every way in adds to one list.
    mirror: bool = False
    # The first release's name for mirroring, on by default there: read, never acted on (see
    # ``Settings.notes``), so a config copied from it no longer drops imported subscribers.
    sync: bool | None = Field(default=None, deprecated="use mirror (see Settings.notes)")
    # Signups through `serve`'s /subscribe: true, an address gets mail only after following the link
    # emailed to it; false, it is active at once (a suppressed or forgotten one still confirms first).
    double_opt_in: bool = True
    welcome: str = ""  # a plain-text Jinja template emailed once a signup is confirmed; empty: none
    welcome_subject: str = "Welcome to {name}"


class DeliverySection(_Section):
    transport: Literal["smtp", "maildir"] = "maildir"
    maildir: str = "outbox"
    host: str = "localhost"
    port: Annotated[int, Field(ge=1, le=65535)] = 587
    security: Literal["tls", "starttls", "none"] = "starttls"
    username: str = ""
    password_env: str = "NEWSLETTER_SMTP_PASSWORD"
    timeout: Annotated[float, Field(gt=0)] = 30.0
    tls_verify: bool = True  # false only for a test server with a self-signed certificate
    tls_ca_file: str = ""  # a PEM file of CAs to trust instead of the system's
    connections: Annotated[int, Field(ge=1, le=64)] = 4
    rate_per_second: Annotated[float, Field(ge=0)] = 0
    rate_per_hour: Annotated[float, Field(ge=0)] = 0
    max_attempts: Annotated[int, Field(ge=1)] = 8
    retry_base_seconds: Annotated[float, Field(gt=0)] = 60.0
    max_errors_in_a_row: Annotated[int, Field(ge=1)] = 20
    # PostgreSQL, several senders: a sender that stops renewing its claim on ledger rows (killed, cut
    # off) loses them to the others after this many seconds.
    lease_seconds: Annotated[float, Field(ge=1)] = 60.0
    dkim_key: str = ""
    dkim_selector: str = ""
    dkim_domain: str = ""
    # Where bounces go (the envelope sender); empty: From's address. With verp, each message's
    # envelope sender is local+<token>@domain, naming its ledger row.
    return_path: str = ""
    verp: bool = True
    # Before a real send over SMTP (`newsletter check`): "refuse" on a failed check, "warn" only,
    # "off" (a test server on 127.0.0.1).
    readiness: Literal["refuse", "warn", "off"] = "refuse"


class BouncesSection(_Section):
    """The mailbox [delivery] return_path delivers to, read by `newsletter bounces` and the daemon."""

    mailbox: Literal["", "imap", "maildir"] = ""  # empty: nothing is read
    maildir: str = "bounces"
    host: str = ""
    port: Annotated[int, Field(ge=1, le=65535)] = 993
    security: Literal["tls", "starttls", "none"] = "tls"
    username: str = ""
    password_env: str = "NEWSLETTER_BOUNCES_PASSWORD"
    tls_verify: bool = True
    tls_ca_file: str = ""
    folder: str = "INBOX"
    processed_folder: str = "Processed"  # notifications about our mail are moved here, never deleted
    every_minutes: Annotated[float, Field(gt=0)] = 10.0  # how often the daemon reads the mailbox
    transient_limit: Annotated[int, Field(ge=1)] = (
        3  # transient bounces in this many issues in a row suppress
    )
    webhook_secret_env: str = "NEWSLETTER_WEBHOOK_SECRET"  # unset: serve has no feedback webhook


class ScheduleSection(_Section):
    when: str = "fri 09:00"
    grace_hours: Annotated[float, Field(gt=0)] = 12.0
    retry_minutes: Annotated[float, Field(gt=0)] = 15.0
    keep_backups: Annotated[int, Field(ge=0)] = 3  # SQLite: copies kept in backups/ after each sent issue
    # Who hears of the issue before it goes (preflight) and of a source that stays broken; empty: [sender] admin.
    editors: tuple[str, ...] = ()
    preflight: str = ""  # e.g. "2h": email the editors the issue that long before each automatic send
    approval: bool = False  # nothing goes out until an editor releases it (needs preflight)

    @field_validator("editors", mode="before")
    @classmethod
    def _one_or_more(cls, value: object) -> object:
        return (value,) if isinstance(value, str) else value

    @field_validator("editors")
    @classmethod
    def _addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for address in value:
            try:
                validate_email(parseaddr(address)[1], check_deliverability=False)
            except EmailNotValidError as exc:
                raise ValueError(f"{address!r} is not an email address ({exc})") from None
        return value


class WebSection(_Section):
    base_url: str = "http://127.0.0.1:8025"
    secret_env: str = "NEWSLETTER_SECRET"
    unsubscribe_mailto: str = ""
    signups_per_client_per_hour: Annotated[int, Field(ge=0)] = 10  # by IP address; 0: no limit
    signup_min_seconds: Annotated[float, Field(ge=0)] = 2.0  # a form sent sooner after it was shown: a bot
    signup_question: bool = False  # the form asks the sum of two small numbers, in words; no third party


class ImagesSection(_Section):
    """Story images fetched once, cropped and resized for their slot, and served from base_url."""

    process: bool = True  # false: the email shows the feeds' own image URLs, as they are
    folder: str = ""  # where the processed images are kept; empty: "email-images" beside the database
    base_url: str = ""  # where that folder is published; empty: [web] base_url + "/images"


class Settings(_Section):
    newsletter: NewsletterSection = NewsletterSection()
    sender: SenderSection = SenderSection.model_validate({})
    sources: tuple[SourceSection, ...] = ()
    feeds: FeedsSection = FeedsSection()
    theme: ThemeSection = ThemeSection()
    issue: IssueSection = IssueSection()
    subscribers: SubscribersSection = SubscribersSection()
    delivery: DeliverySection = DeliverySection()
    bounces: BouncesSection = BouncesSection()
    schedule: ScheduleSection = ScheduleSection()
    web: WebSection = WebSection()
    images: ImagesSection = ImagesSection()
    # Folder of the config file; relative paths in the settings are relative to it.
    root: Path = Path(".")

    def path(self, value: str) -> Path:
        """A path from the config, resolved against the config file's folder."""
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.root / p

    @property
    def history_path(self) -> Path:
        """Where this configuration remembers what it sent, outside the database (store/history.py)."""
        return self.root / ".newsletter-history"

    @property
    def journal_path(self) -> Path:
        """The suppression list's second copy, outside the database (store/journal.py)."""
        return self.root / ".newsletter-suppressions"

    @property
    def editors(self) -> tuple[str, ...]:
        """Who gets the preflight email and the source alerts: [schedule] editors, else [sender] admin."""
        if self.schedule.editors:
            return self.schedule.editors
        return (self.sender.admin,) if self.sender.admin else ()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.newsletter.timezone)

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL: $NEWSLETTER_DATABASE when set, else ``database``; a plain
        ``postgresql://`` URL is given the psycopg 3 driver, the one the project installs."""
        db = os.environ.get(self.newsletter.database_env) or self.newsletter.database
        if "://" not in db:
            return f"sqlite:///{self.path(db)}"
        scheme, _, rest = db.partition("://")
        if scheme in ("postgresql", "postgres"):
            return f"postgresql+psycopg://{rest}"
        return db

    @property
    def smtp_password(self) -> str:
        return os.environ.get(self.delivery.password_env, "")

    def notes(self) -> list[str]:
        """What the config says that no longer does what it did (shown by the commands that act on it)."""
        if "sync" in self.subscribers.model_fields_set:
            return [
                "[subscribers] sync is no longer used: the CSV adds to the list and removes nobody; "
                "set mirror = true for a list that is exactly the CSV, and delete the sync line"
            ]
        return []

    def secret_warning(self) -> str | None:
        """A warning when links are signed with the built-in default secret, which anyone can work out."""
        if os.environ.get(self.web.secret_env):
            return None
        return (
            f"${self.web.secret_env} is not set: unsubscribe links are signed with a default secret "
            "derived from the database path, so anyone who guesses it can unsubscribe others. "
            f"Set {self.web.secret_env} to a long random value (e.g. `openssl rand -hex 32`) for every "
            "command, send and serve alike; links in emails already sent stop working when it changes"
        )

    @property
    def secret(self) -> str:
        """The signing secret for unsubscribe links; derived from the database path when unset."""
        value = os.environ.get(self.web.secret_env, "")
        if value:
            return value
        return "newsletter-insecure-default:" + self.database_url


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    return Path(explicit or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read and validate the config; every problem names the file and the key."""
    file = config_path(path)
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"{file}: no such config file",
            hint="run `newsletter init` to write one, or pass --config PATH",
        ) from None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read: {exc.strerror}") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}", hint="check the quoting near that line") from exc
    return parse_settings(data, file)


def parse_settings(data: dict, file: Path) -> Settings:
    try:
        settings = Settings.model_validate({**data, "root": file.resolve().parent})
    except ValidationError as exc:
        raise ConfigError(_describe(exc, file), hint=_hint(exc)) from None
    _check_values(settings, file)
    return settings


_HEX = re.compile(r"^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


def _check_values(settings: Settings, file: Path) -> None:
    """Values only a later stage reads, checked now: a mistake in the file stops every command."""
    when_spec(settings.schedule.when)
    schedule = settings.schedule
    if schedule.preflight:
        try:
            duration_spec(schedule.preflight)
        except ValueError as exc:
            raise ConfigError(
                f"{file}: [schedule] preflight {schedule.preflight!r}: {exc}",
                hint='e.g. "2h" (two hours before each send), "90m", "1d"; remove the key to turn it off',
            ) from None
    elif schedule.approval:
        raise ConfigError(
            f"{file}: [schedule] approval = true needs [schedule] preflight: the email that asks for it",
            hint='add preflight = "2h" (the editors get the issue two hours before it is due)',
        )
    if (schedule.preflight or schedule.approval) and not settings.editors:
        raise ConfigError(
            f"{file}: [schedule] preflight needs someone to email: [schedule] editors or [sender] admin",
            hint='add editors = ["you@example.org"] to [schedule]',
        )
    theme = settings.theme
    if not _HEX.match(theme.accent):
        raise ConfigError(
            f"{file}: [theme] accent {theme.accent!r} is not a hex colour",
            hint='write it as "#004990" or "#049"',
        )
    if "%" in theme.date_format:
        raise ConfigError(
            f"{file}: [theme] date_format {theme.date_format!r} is a strftime pattern; a CLDR pattern is needed",
            hint='e.g. "d MMMM y" (30 November 2026), "EEEE d MMMM y", "yyyy-MM-dd"',
        )
    from datetime import date

    from babel.dates import format_date

    try:
        format_date(
            date(2026, 11, 30),
            format=theme.date_format,
            locale=settings.newsletter.language.replace("-", "_"),
        )
    except Exception as exc:  # noqa: BLE001 (babel raises several kinds for a bad pattern or locale)
        raise ConfigError(
            f"{file}: [theme] date_format {theme.date_format!r} cannot format a date: {exc}",
            hint='a CLDR pattern such as "d MMMM y"; quote literal words: "d \'de\' MMMM"',
        ) from None
    if theme.logo and not re.match(r"^[a-z][a-z0-9+.-]*:", theme.logo, re.IGNORECASE):
        logo = settings.path(theme.logo)
        if not logo.is_file():
            raise ConfigError(
                f"{file}: [theme] logo {logo} does not exist",
                hint='give an image file\'s path (relative to the config) or an https:// URL, or logo = ""',
            )


def _describe(exc: ValidationError, file: Path) -> str:
    lines = []
    for err in exc.errors():
        key = _key(err["loc"])
        if err["type"] == "extra_forbidden":
            lines.append(f"{file}: unknown key {key}")
        elif err["type"] == "missing":
            lines.append(f"{file}: {key} is required")
        else:
            value = err.get("input")
            shown = f" (got {value!r})" if isinstance(value, str | int | float | bool) else ""
            lines.append(f"{file}: {key}: {err['msg']}{shown}")
    return "\n".join(lines)


def _key(loc: tuple) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts[-1] = f"{parts[-1]}[{part + 1}]" if parts else f"[{part + 1}]"
        elif part == "from_":
            parts.append("from")
        else:
            parts.append(str(part))
    return ".".join(parts) or "(top level)"


def _hint(exc: ValidationError) -> str:
    if any(err["type"] == "extra_forbidden" for err in exc.errors()):
        return "check the spelling against newsletter.example.toml, which lists every key"
    return "newsletter.example.toml documents every key with its default"


# --- [schedule] when, read here so a mistake stops every command at load ---------------------

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WHEN = re.compile(r"^\s*(?P<days>[a-z,\-\s]+?)\s+(?P<hour>\d{1,2}):(?P<minute>\d{2})\s*$", re.IGNORECASE)


@functools.cache
def filter_pattern(rule: str) -> re.Pattern[str]:
    """A source's include / exclude rule -> the pattern it searches for; ValueError naming the rule.

    ``"/expr/"`` is a regular expression (``"/expr/i"``: any case); anything else is a word or phrase
    matched whole, in any case, with any spacing between its words ("war" does not match "award").
    """
    text = rule.strip()
    if not text:
        raise ValueError("an empty rule matches everything: remove it")
    if len(text) >= 2 and text.startswith("/") and (text.endswith("/") or text.endswith("/i")):
        ignore_case = text.endswith("/i")
        body = text[1:-2] if ignore_case else text[1:-1]
        if not body:
            raise ValueError(f"{rule!r}: an empty expression matches everything: remove it")
        try:
            return re.compile(body, re.IGNORECASE if ignore_case else 0)
        except re.error as exc:
            raise ValueError(f"{rule!r} is not a valid regular expression: {exc}") from None
    words = [re.escape(w) for w in text.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|h|d)\s*$", re.IGNORECASE)
_UNIT = {"m": 60, "min": 60, "h": 3600, "d": 86400}


def duration_spec(text: str) -> timedelta:
    """``"2h"``, ``"90m"``, ``"1d"`` -> a timedelta; ValueError saying what is expected."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError('expected a number and a unit: "90m", "2h" or "1d"')
    return timedelta(seconds=float(match[1]) * _UNIT[match[2].lower()])


def when_spec(text: str) -> tuple[str, int, int]:
    """``"fri 09:00"`` -> ("fri", 9, 0): APScheduler's day_of_week, the hour and minute.

    Days are names, never numbers: in crontab 5 is Friday, in APScheduler's day_of_week 5 is
    Saturday (``CronTrigger.from_crontab("0 9 * * 5")`` fires on Saturdays).
    """
    match = _WHEN.match(text)
    if not match and re.match(r"^\s*\d[\d,\-]*\s+\d", text):
        raise _when_error(
            text, "day numbers are ambiguous (in crontab 5 is Friday, in APScheduler Saturday): use names"
        )
    if not match:
        raise _when_error(text, 'expected day name(s) and a 24-hour time, e.g. "fri 09:00"')
    hour, minute = int(match["hour"]), int(match["minute"])
    if hour > 23 or minute > 59:
        raise _when_error(text, f"{hour:02d}:{minute:02d} is not a time of day (00:00 to 23:59)")
    return _days(text, match["days"]), hour, minute


def _days(text: str, spec: str) -> str:
    spec = spec.strip().lower()
    if spec in ("daily", "every day", "*"):
        return ",".join(DAYS)
    out: list[str] = []
    for part in re.split(r"\s*,\s*", spec):
        ends = [_day(text, p) for p in re.split(r"\s*-\s*", part)]
        if len(ends) == 1:
            out.append(ends[0])
        elif len(ends) == 2 and DAYS.index(ends[0]) <= DAYS.index(ends[1]):
            out.extend(DAYS[DAYS.index(ends[0]) : DAYS.index(ends[1]) + 1])
        else:
            raise _when_error(text, f"{part!r} is not a day range such as mon-fri")
    return ",".join(dict.fromkeys(out))


def _day(text: str, word: str) -> str:
    word = word.strip().lower()
    for short, full in zip(DAYS, _FULL_DAYS, strict=True):
        if word in (short, full) or (len(word) >= 3 and full.startswith(word)):
            return short
    raise _when_error(text, f"{word!r} is not a day name (mon, tue, wed, thu, fri, sat, sun)")


def _when_error(text: str, why: str) -> ConfigError:
    return ConfigError(
        f"[schedule] when = {text!r}: {why}",
        hint='write day names and a 24-hour local time: "fri 09:00", "mon,thu 07:30", "mon-fri 08:15"',
    )
