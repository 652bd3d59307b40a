"""Is this newsletter ready for a real send? One result per check: pass, warn or fail, with what to do.

    settings   From is a real address, postal_address is set, base_url is public https, the
               signing secret is set and long, the SMTP password is set, the CSV is not the example
    smtp       the server answers, TLS and login succeed (no message is sent)
    dns        the From domain's SPF and DMARC records, and with dkim_key the selector's record
               holding the key's public half, the key's size and its domain's alignment with From
               (dnspython; a lookup that cannot be made is a warning, never a failure)
    content    the feeds answered, the email renders, is under Gmail's clip budget, and has no
               file: image when it goes over SMTP

`newsletter check` prints them all; `send` and the daemon run them before a real SMTP send and
refuse on a failure (`send --anyway` sends regardless). Only a send over SMTP reaches people: with
the Maildir transport the settings that matter only to real readers are warnings.
"""

from __future__ import annotations

import base64
import contextlib
import ipaddress
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.utils import parseaddr
from enum import StrEnum
from urllib.parse import urlsplit

from newsletter.compose import sender_domain
from newsletter.config import Settings
from newsletter.errors import NewsletterError
from newsletter.models import RenderedIssue
from newsletter.subscribers import read_csv

CLIP_BYTES = 102_000  # Gmail cuts a message's HTML after about 102 KB: the footer and its unsubscribe link go
MIN_SECRET = 32
NAMESERVER_ENV = "NEWSLETTER_NAMESERVER"  # host[:port] to ask instead of the system's resolver
_PLACEHOLDER = re.compile(r"(^|\.)(example\.(com|org|net)|localhost|localdomain|test|invalid|example|local)$")


class Level(StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class Result:
    name: str
    level: Level
    message: str
    todo: str = ""


class NotReady(NewsletterError):
    """A real send refused: a readiness check failed."""


def readiness(
    settings: Settings,
    rendered: RenderedIssue | None = None,
    feed_errors: list[str] | None = None,
    *,
    smtp: bool = True,
    dns: bool = True,
) -> list[Result]:
    results = settings_checks(settings)
    if settings.delivery.transport == "smtp":
        if smtp:
            results.append(smtp_check(settings))
        if dns:
            results += dns_checks(settings)
    if rendered is not None or feed_errors is not None:
        results += content_checks(settings, rendered, feed_errors or [])
    return results


def refuse_on_failure(results: list[Result]) -> None:
    failed = [r for r in results if r.level == Level.FAIL]
    if failed:
        raise NotReady(
            "not sending: " + "; ".join(f"{r.name}: {r.message}" for r in failed),
            hint="fix each (`newsletter check` says how), or send anyway with `newsletter send --anyway`",
        )


# --- settings ------------------------------------------------------------------------------


def settings_checks(settings: Settings) -> list[Result]:
    real = settings.delivery.transport == "smtp"
    bad = Level.FAIL if real else Level.WARN  # only a send over SMTP reaches people
    found = []
    address = parseaddr(settings.sender.from_)[1]
    domain = address.rpartition("@")[2].lower()
    if _PLACEHOLDER.search(domain):
        found.append(
            Result(
                "from",
                bad,
                f"[sender] from is {address}, a placeholder domain",
                "give the address your readers will see and reply to, on a domain you control",
            )
        )
    else:
        found.append(Result("from", Level.PASS, f"From is {address}"))
    if settings.sender.postal_address.strip():
        found.append(Result("postal address", Level.PASS, "set"))
    else:
        found.append(
            Result(
                "postal address",
                bad,
                "[sender] postal_address is empty",
                "the law (CAN-SPAM) and Gmail's sender rules ask for a physical postal address in every email",
            )
        )
    found.append(_base_url(settings, bad))
    secret = os.environ.get(settings.web.secret_env, "")
    if not secret:
        found.append(
            Result(
                "secret",
                bad,
                f"${settings.web.secret_env} is not set: links are signed with a default anyone can work out",
                f"export {settings.web.secret_env}=$(openssl rand -hex 32), the same for send and serve",
            )
        )
    elif len(secret) < MIN_SECRET:
        found.append(
            Result(
                "secret",
                bad,
                f"${settings.web.secret_env} has {len(secret)} characters; at least {MIN_SECRET} are needed",
                "use `openssl rand -hex 32`; links in emails already sent stop working when it changes",
            )
        )
    else:
        found.append(Result("secret", Level.PASS, f"${settings.web.secret_env} is set"))
    d = settings.delivery
    if real and d.username and not os.environ.get(d.password_env):
        found.append(
            Result(
                "smtp password",
                Level.FAIL,
                f"[delivery] username is {d.username} but ${d.password_env} is empty",
                f"export {d.password_env}=... before sending (and in the daemon's environment)",
            )
        )
    found.append(_subscribers_csv(settings, bad))
    if real and not d.return_path:
        found.append(
            Result(
                "return path",
                Level.WARN,
                "[delivery] return_path is empty: bounces go to the From address and nobody reads them",
                "set return_path and [bounces] (README: Bounces) so dead addresses are dropped",
            )
        )
    return found


def _base_url(settings: Settings, bad: Level) -> Result:
    url = settings.web.base_url
    parts = urlsplit(url)
    host = parts.hostname or ""
    loopback = host in ("localhost", "") or host.endswith(".localhost")
    with contextlib.suppress(ValueError):  # a name, not an address
        loopback = loopback or ipaddress.ip_address(host).is_loopback or ipaddress.ip_address(host).is_private
    if loopback:
        return Result(
            "base url",
            bad,
            f"[web] base_url is {url}: readers cannot reach it, so their unsubscribe links cannot work",
            "serve `newsletter serve` behind an HTTPS proxy at a public name and set base_url to it",
        )
    if parts.scheme != "https":
        return Result(
            "base url",
            bad,
            f"[web] base_url is {url}: one-click unsubscribe must be https (Gmail and Yahoo's sender rules)",
            "put an HTTPS proxy in front of `newsletter serve` and give its https:// address",
        )
    return Result("base url", Level.PASS, url)


def _subscribers_csv(settings: Settings, bad: Level) -> Result:
    if not settings.subscribers.csv:
        return Result("subscribers", Level.PASS, "the list is in the database (no CSV configured)")
    path = settings.path(settings.subscribers.csv)
    if not path.exists():
        return Result(
            "subscribers", Level.FAIL, f"[subscribers] csv: {path} does not exist", "give the list's CSV file"
        )
    placeholder = [
        s.email for s in read_csv(path).subscribers if _PLACEHOLDER.search(s.email.rpartition("@")[2])
    ]
    if placeholder:
        return Result(
            "subscribers",
            bad,
            f"{path} holds {len(placeholder)} example address(es) ({', '.join(placeholder[:3])}"
            f"{', ...' if len(placeholder) > 3 else ''}): the shipped example?",
            "replace them with your list, or remove the file and use `newsletter subscribers import`",
        )
    return Result("subscribers", Level.PASS, f"{path}")


# --- the SMTP server -----------------------------------------------------------------------


def smtp_check(settings: Settings) -> Result:
    from newsletter.deliver import check_transport

    d = settings.delivery
    try:
        check_transport(settings)
    except NewsletterError as exc:
        return Result("smtp", Level.FAIL, exc.message, exc.hint or "")
    login = f", logged in as {d.username}" if d.username else ""
    return Result("smtp", Level.PASS, f"{d.host}:{d.port} answered ({d.security}{login}); nothing was sent")


# --- DNS -----------------------------------------------------------------------------------


def _resolver():  # type: ignore[no-untyped-def]
    import dns.resolver

    resolver = dns.resolver.Resolver(configure=not os.environ.get(NAMESERVER_ENV))
    server = os.environ.get(NAMESERVER_ENV, "")
    if server:
        host, _, port = server.partition(":")
        resolver.nameservers = [host]
        resolver.port = int(port or 53)
    resolver.lifetime = 5.0
    return resolver


def _txt(resolver, name: str) -> list[str] | None:  # type: ignore[no-untyped-def]
    """The TXT strings at ``name``: [] when there are none; None when the lookup could not be made."""
    import dns.exception
    import dns.resolver

    try:
        answer = resolver.resolve(name, "TXT")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except (dns.exception.DNSException, OSError):
        return None
    return [b"".join(r.strings).decode("utf-8", "replace") for r in answer]


def dns_checks(settings: Settings) -> list[Result]:
    domain = sender_domain(settings).lower()
    if _PLACEHOLDER.search(domain):
        return [
            Result(
                "dns", Level.WARN, f"{domain} is a placeholder: no DNS to check", "set [sender] from first"
            )
        ]
    try:
        resolver = _resolver()
    except Exception as exc:  # noqa: BLE001 (no resolv.conf, no network: a warning, never a failure)
        return [
            Result(
                "dns", Level.WARN, f"cannot look up DNS records here: {exc}", "run `check` where DNS works"
            )
        ]
    # The lookups at once: an unreachable resolver costs its timeout once, not once per record.
    names = [domain, f"_dmarc.{domain}"]
    if settings.delivery.dkim_key:
        names.append(
            f"{settings.delivery.dkim_selector}._domainkey.{(settings.delivery.dkim_domain or domain).lower()}"
        )
    with ThreadPoolExecutor(len(names)) as pool:
        answers = dict(zip(names, pool.map(lambda name: _txt(resolver, name), names), strict=True))
    found = []
    spf = answers[domain]
    if spf is None:
        found.append(Result("spf", Level.WARN, f"the SPF lookup for {domain} could not be made", "check DNS"))
    elif not [t for t in spf if t.lower().startswith("v=spf1")]:
        found.append(
            Result(
                "spf",
                Level.FAIL,
                f"{domain} has no SPF record",
                f'publish a TXT record at {domain} such as "v=spf1 include:<your relay> ~all" (ask your relay)',
            )
        )
    else:
        found.append(Result("spf", Level.PASS, next(t for t in spf if t.lower().startswith("v=spf1"))))
    dmarc = answers[f"_dmarc.{domain}"]
    if dmarc is None:
        found.append(
            Result("dmarc", Level.WARN, f"the DMARC lookup for {domain} could not be made", "check DNS")
        )
    else:
        record = next((t for t in dmarc if t.lower().startswith("v=dmarc1")), None)
        if record is None:
            found.append(
                Result(
                    "dmarc",
                    Level.FAIL,
                    f"_dmarc.{domain} has no DMARC record (Gmail and Yahoo require one of bulk senders)",
                    f'publish a TXT record at _dmarc.{domain} such as "v=DMARC1; p=none; rua=mailto:dmarc@{domain}"',
                )
            )
        else:
            policy = re.search(r"\bp\s*=\s*(\w+)", record)
            found.append(
                Result("dmarc", Level.PASS, f"policy {policy[1] if policy else '(none given)'}: {record}")
            )
    found.append(_dkim(settings, answers, domain))
    return found


def _dkim(settings: Settings, answers: dict[str, list[str] | None], from_domain: str) -> Result:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    d = settings.delivery
    if not d.dkim_key:
        return Result(
            "dkim",
            Level.WARN,
            "no DKIM signature ([delivery] dkim_key is empty); Gmail and Yahoo require one of bulk senders",
            "sign here with dkim_key and dkim_selector, or make sure your relay signs for your domain",
        )
    path = settings.path(d.dkim_key)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        return Result(
            "dkim",
            Level.FAIL,
            f"[delivery] dkim_key {path}: cannot read the key: {exc}",
            "give a PEM RSA key",
        )
    if not isinstance(key, rsa.RSAPrivateKey):
        return Result(
            "dkim", Level.FAIL, f"{path} is not an RSA key", "DKIM here signs with RSA (rsa-sha256)"
        )
    domain = (d.dkim_domain or from_domain).lower()
    if not (from_domain == domain or from_domain.endswith("." + domain)):
        return Result(
            "dkim",
            Level.FAIL,
            f"the DKIM domain {domain} is not aligned with From's {from_domain}",
            "DMARC needs d= to be the From domain or its parent: set [delivery] dkim_domain",
        )
    if key.key_size < 1024:
        return Result(
            "dkim", Level.FAIL, f"the DKIM key has {key.key_size} bits; at least 1024", "make a 2048-bit key"
        )
    public = base64.b64encode(
        key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).decode()
    name = f"{d.dkim_selector}._domainkey.{domain}"
    records = answers.get(name)
    if records is None:
        return Result("dkim", Level.WARN, f"the lookup of {name} could not be made", "check DNS")
    published = [re.sub(r"\s+", "", m[1]) for t in records if (m := re.search(r"\bp=([A-Za-z0-9+/=\s]*)", t))]
    if not published:
        return Result(
            "dkim",
            Level.FAIL,
            f"{name} has no DKIM record",
            f'publish "v=DKIM1; k=rsa; p={public[:24]}..." there',
        )
    if public not in published:
        return Result(
            "dkim",
            Level.FAIL,
            f"{name} holds a different public key than {path}",
            "publish this key's public half, or set dkim_key to the key the record was made for",
        )
    if key.key_size < 2048:
        return Result(
            "dkim",
            Level.WARN,
            f"{name} matches, but the key has {key.key_size} bits",
            "2048 bits is recommended",
        )
    return Result("dkim", Level.PASS, f"{name} holds the key's public half ({key.key_size} bits)")


# --- content -------------------------------------------------------------------------------


def content_checks(
    settings: Settings, rendered: RenderedIssue | None, feed_errors: list[str]
) -> list[Result]:
    found = [
        Result("feed", Level.WARN, error, "see `newsletter status`; the other sources still go in")
        for error in feed_errors
    ]
    if not feed_errors:
        found.append(Result("feeds", Level.PASS, f"{len(settings.sources)} source(s) answered and parsed"))
    if rendered is None:
        return found
    size = len(rendered.html.encode("utf-8"))
    if size > CLIP_BYTES:
        found.append(
            Result(
                "size",
                Level.FAIL,
                f"the email's HTML is {size:,} bytes: Gmail clips it after {CLIP_BYTES:,}, hiding the footer and its unsubscribe link",
                "fewer cards ([issue] max_cards) or shorter summaries ([issue] summary_length)",
            )
        )
    else:
        found.append(
            Result("size", Level.PASS, f"{size:,} bytes of HTML, under Gmail's clip at {CLIP_BYTES:,}")
        )
    found.append(Result("templates", Level.PASS, f"the email renders: {rendered.subject!r}"))
    local = rendered.html.count('src="file:')
    if local and settings.delivery.transport == "smtp":
        found.append(
            Result(
                "images",
                Level.FAIL,
                f"{local} image(s) are local files (file: URLs) that subscribers cannot load",
                "publish them over https and give the feed or the items file their http(s) URLs",
            )
        )
    return found
