"""compose's hand-built messages against what the `email` package parses (both policies), header
injection, line lengths, and DKIM signatures checked with dkimpy."""

from __future__ import annotations

import base64
import email
import email.policy
import random
import re
from email.message import Message
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from newsletter.compose import Composer, clean_header
from newsletter.config import Settings, parse_settings
from newsletter.errors import ConfigError
from newsletter.models import RenderedIssue, Subscriber
from newsletter.pipeline import fill

pytestmark = pytest.mark.sqlite_only  # builds messages in memory; opens no database

POLICIES = {"default": email.policy.default, "compat32": email.policy.compat32}
HTML = (
    "<!DOCTYPE html><html><body><p>Hello @@first_name@@ from @@city@@ &amp; friends. "
    + "x" * 300
    + ' <a href="@@unsubscribe_url@@">Unsubscribe</a> @@name@@@@email@@</p>\n<p>.a dot line</p></body></html>'
)
TEXT = "Hello @@name@@,\n.starts with a dot\n\n" + "word " * 40 + "\nUnsubscribe: @@unsubscribe_url@@"


def settings_for(tmp_path: Path, **delivery: object) -> Settings:
    return parse_settings(
        {
            "newsletter": {"name": "What's new at NATO"},
            "sender": {"from": "NATO News <news@example.org>"},
            "web": {"base_url": "https://news.example.org"},
            "delivery": delivery,
        },
        tmp_path / "newsletter.toml",
    )


def rendered(subject: str = "What's new at NATO: 17 November 2023") -> RenderedIssue:
    return RenderedIssue(subject=subject, preheader="", html=HTML, text=TEXT, period_key="2023-W46")


def parse(data: bytes, policy: str) -> Message:
    return email.message_from_bytes(data, policy=POLICIES[policy])


def bodies(msg: Message) -> dict[str, str]:
    out = {}
    for part in msg.walk():
        if not part.is_multipart():
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            out[part.get_content_type()] = payload.decode("utf-8").replace("\r\n", "\n")
    return out


def check_wire_form(data: bytes) -> None:
    """CRLF only, no line over 998 octets (RFC 5322 2.1.1), none starting with a dot."""
    assert b"\r" not in data.replace(b"\r\n", b"") and b"\n" not in data.replace(b"\r\n", b"")
    lines = data.split(b"\r\n")
    assert max(len(line) for line in lines) <= 998
    assert not any(line.startswith(b".") for line in lines)


@pytest.mark.parametrize("policy", POLICIES)
def test_fast_path_parses_to_the_issue_filled_in(tmp_path: Path, policy: str) -> None:
    composer = Composer(settings_for(tmp_path), rendered())
    subscriber = Subscriber("ada@example.org", "Ada <Lovelace> & Co", {"City": "Brussels"})
    data = composer.compose(subscriber)
    check_wire_form(data)
    msg = parse(data, policy)
    assert msg.get_content_type() == "multipart/alternative"
    assert not msg.defects and all(not p.defects for p in msg.walk())
    values = composer.values(subscriber)
    parts = bodies(msg)
    assert set(parts) == {"text/plain", "text/html"}
    assert parts["text/plain"].rstrip("\n") == fill(TEXT, values).rstrip("\n")
    assert parts["text/html"].rstrip("\n") == fill(HTML, values, html_escape=True).rstrip("\n")
    assert "Ada &lt;Lovelace&gt; &amp; Co" in parts["text/html"] and "from Brussels" in parts["text/html"]
    assert str(msg["Subject"]) == "What's new at NATO: 17 November 2023"
    assert email.utils.parseaddr(str(msg["To"])) == ("Ada <Lovelace> & Co", "ada@example.org")
    assert email.utils.parseaddr(str(msg["From"])) == ("NATO News", "news@example.org")
    assert str(msg["List-Id"]) == "What's new at NATO <what-s-new-at-nato.example.org>"
    assert str(msg["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    https, mailto = (u.strip().strip("<>") for u in str(msg["List-Unsubscribe"]).split(","))
    assert https == values["unsubscribe_url"] and https.startswith("https://news.example.org/unsubscribe/")
    assert mailto == "mailto:news@example.org?subject=unsubscribe&body=ada%40example.org"
    assert email.utils.parsedate_to_datetime(str(msg["Date"])) is not None
    assert re.fullmatch(r"<2023-W46\.[0-9a-f]{20}@example\.org>", str(msg["Message-ID"]))


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize(
    "name", ["Zoë Ångström", "山田 太郎", "=?UTF-8?Q?=0A?=Bcc: x@y", "Émile " + "très long nom " * 80]
)
def test_display_names_are_encoded_and_come_back(tmp_path: Path, policy: str, name: str) -> None:
    data = Composer(settings_for(tmp_path), rendered()).compose(Subscriber("zoe@example.org", name))
    check_wire_form(data)
    head = data.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()  # RFC 2047 encoded words, not raw UTF-8
    msg = parse(data, policy)
    if policy == "default":  # CPython's address parser adds a space at each fold between encoded words
        assert " ".join(msg["To"].addresses[0].display_name.split()) == clean_header(name)
        assert msg["To"].addresses[0].addr_spec == "zoe@example.org"
    else:
        decoded = email.header.make_header(email.header.decode_header(msg["To"]))
        assert str(decoded) == f"{clean_header(name)} <zoe@example.org>"
    assert "Bcc" not in msg


INJECTIONS = [
    ("x\r\nBcc: a@b", "What's new"),
    ("x\nBcc: a@b", "What's new"),
    ("x\rBcc: a@b\u2028Cc: c@d", "What's new"),
    ("Ada", "A =?UTF-8?Q?=0A?=Bcc: x@y"),
    ("Ada", "A\r\nBcc: x@y"),
    ("=?UTF-8?Q?x=0D=0ABcc:_a@b?=", "A =?UTF-8?B?Cg==?=Bcc: x@y"),
]


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize(("name", "subject"), INJECTIONS)
def test_no_header_can_be_injected(tmp_path: Path, policy: str, name: str, subject: str) -> None:
    composer = Composer(settings_for(tmp_path), rendered(subject))
    data = composer.compose(Subscriber("ada@example.org", name, {"city": "x\r\nBcc: c@d"}))
    check_wire_form(data)
    msg = parse(data, policy)
    assert "Bcc" not in msg and "Cc" not in msg
    assert not any(b.lower().startswith(b"bcc") for b in data.split(b"\r\n"))
    assert msg.get_all("To") is not None and len(msg.get_all("To")) == 1
    if policy == "default":
        decoded = str(msg["Subject"])
    else:
        decoded = str(email.header.make_header(email.header.decode_header(msg["Subject"])))
    assert decoded == clean_header(subject)  # the text as written, encoded words and all
    # the email package's own view of every header: one line each, never a Bcc
    for key, value in parse(data, "default").items():
        assert key.lower() != "bcc" and "\n" not in str(value), (key, value)


def test_message_id_is_stable_per_issue_and_subscriber(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    one, two = Composer(settings, rendered()), Composer(settings, rendered("Other subject"))
    ada, grace = Subscriber("ada@example.org", "Ada"), Subscriber("grace@example.org", "Grace")
    mid = parse(one.compose(ada), "default")["Message-ID"]
    assert mid == parse(two.compose(ada), "default")["Message-ID"]
    assert mid != parse(one.compose(grace), "default")["Message-ID"]


def test_values_at_any_column_keep_lines_short(tmp_path: Path) -> None:
    """A value lands in the middle of a 300-character line: soft breaks around it, nothing lost."""
    composer = Composer(settings_for(tmp_path), rendered())
    for width in (0, 1, 70, 75, 76, 77, 500):
        subscriber = Subscriber("a@example.org", ("é" if width % 2 else "n") * width + " .x= ")
        data = composer.compose(subscriber)
        check_wire_form(data)
        values = composer.values(subscriber)
        html = bodies(parse(data, "default"))["text/html"]
        assert html.rstrip("\n") == fill(HTML, values, html_escape=True).rstrip("\n")


def adversarial_texts() -> list[str]:
    """Bodies where dots land at the start of lines: written there, after every possible soft line
    break (a dot at each column of a long line, after multi-byte characters that encode to 9 octets),
    SMTP's end of data itself, and placeholders at the start of lines."""
    rng = random.Random(16)
    texts = [
        ".\n..\n.\r\n.\r\n\r\n.\n",
        "\r\n.\r\n",
        ".@@name@@\n@@name@@.\n.@@city@@.",
        "." + "é" * 200 + "\n." + "=" * 200,
    ]
    texts += ["x" * width + "." * 3 + "y" * 80 for width in range(0, 160)]
    texts += ["é" * width + ".tail" for width in range(0, 40)]
    alphabet = [".", ".", "\n", "\r\n", " ", "=", "é", "x", "\t", "@@name@@", "@@city@@", "<p>"]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 400))) for _ in range(200)]
    return texts


def undated(data: bytes) -> bytes:
    return re.sub(rb"^Date: [^\r\n]*\r\n", b"", data, count=1, flags=re.MULTILINE)


@pytest.mark.parametrize("text", adversarial_texts())
def test_no_line_starts_with_a_dot_whatever_the_text(tmp_path: Path, text: str) -> None:
    """The guarantee SMTP's transport relies on to skip dot-stuffing for composed messages: an item's
    text with lines starting with "." still gives no wire line starting with ".", and reads back as
    written."""
    issue = RenderedIssue(subject=". dot", preheader="", html=text, text=text, period_key="2023-W46")
    composer = Composer(settings_for(tmp_path), issue)
    for subscriber in (
        Subscriber("a@example.org", ".", {"city": "."}),
        Subscriber("b@example.org", "." * 90, {"city": ".x" * 60}),
        Subscriber("c@example.org", "x" * 73 + ".", {"city": "é" * 30 + "."}),
    ):
        message = composer.message(subscriber)
        data = bytes(message)
        # The same bytes either way, but for the Date header when the second ticks between the two
        assert undated(data) == undated(composer.compose(subscriber)) and len(message) == len(data)
        check_wire_form(data)
        values = composer.values(subscriber)
        parts = bodies(parse(data, "default"))
        want = text.replace("\r\n", "\n")
        assert parts["text/plain"].rstrip("\n") == fill(want, values).rstrip("\n")
        assert parts["text/html"].rstrip("\n") == fill(want, values, html_escape=True).rstrip("\n")


# --- DKIM ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dkim_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    folder = tmp_path_factory.mktemp("dkim")
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = folder / "dkim.pem"
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    public = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return key, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def dns_for(record: bytes):  # type: ignore[no-untyped-def]
    def dnsfunc(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"news._domainkey.example.org."
        return record

    return dnsfunc


def test_dkim_signature_verifies_and_covers_the_unsubscribe_headers(tmp_path: Path, dkim_key) -> None:
    key, record = dkim_key
    settings = settings_for(tmp_path, dkim_key=str(key), dkim_selector="news")
    composer = Composer(settings, rendered("Zoë's digest " + "long " * 100))
    data = composer.compose(Subscriber("ada@example.org", "Ada Lovelace", {"city": "Paris"}))
    check_wire_form(data)
    assert dkim.verify(data, dnsfunc=dns_for(record))
    signature = parse(data, "compat32")["DKIM-Signature"]
    tags = dict(t.strip().split("=", 1) for t in re.sub(r"\s+", "", signature).split(";") if t)
    signed = tags["h"].split(":")
    for name in ("from", "subject", "list-unsubscribe", "list-unsubscribe-post", "to", "message-id"):
        assert name in signed
    assert tags["d"] == "example.org" and tags["s"] == "news" and tags["a"] == "rsa-sha256"
    # a changed unsubscribe link, or body, breaks the signature
    tampered = data.replace(b"List-Unsubscribe: <https://news", b"List-Unsubscribe: <https://evil")
    assert tampered != data and not dkim.verify(tampered, dnsfunc=dns_for(record))
    assert b"friends" in data
    assert not dkim.verify(data.replace(b"friends", b"fiends"), dnsfunc=dns_for(record))


def test_dkim_without_cryptography_uses_dkimpy_rsa(tmp_path: Path, dkim_key) -> None:
    key, record = dkim_key
    composer = Composer(settings_for(tmp_path, dkim_key=str(key), dkim_selector="news"), rendered())
    assert composer.signer is not None
    composer.signer._rsa = composer.signer._pure_rsa  # the fallback when cryptography is missing
    assert dkim.verify(composer.compose(Subscriber("a@example.org", "A")), dnsfunc=dns_for(record))


def test_dkim_config_errors_name_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key")
    with pytest.raises(ConfigError, match=r"dkim_key .*bad\.pem: not an RSA private key"):
        Composer(settings_for(tmp_path, dkim_key="bad.pem", dkim_selector="s"), rendered())
    with pytest.raises(ConfigError, match="dkim_selector is required"):
        Composer(settings_for(tmp_path, dkim_key="bad.pem"), rendered())
    with pytest.raises(ConfigError, match=r"missing\.pem: cannot read"):
        Composer(settings_for(tmp_path, dkim_key="missing.pem", dkim_selector="s"), rendered())
