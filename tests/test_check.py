"""`newsletter check` and the refusal of a real send that is not ready: `init`'s config over SMTP
fails on each default it must, `send` refuses the same and sends nothing, `--anyway` sends; a
ready config passes against a real DNS server and SMTP server on 127.0.0.1."""

from __future__ import annotations

import base64
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, SmtpServer, free_port, run_cli
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from dnsd import dns_server

SECRET = "0123456789abcdef" * 4
DOMAIN = "nato-digest.eu"
AS_OF = "2023-11-17"


def cli(config: Path, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return run_cli("--config", str(config), *args, env=env or {})


def lines(out: str) -> str:
    return " ".join(out.split())


@pytest.fixture
def newcomer(tmp_path: Path, smtp_server: SmtpServer) -> Path:
    """`newsletter init` in an empty folder, a local feed, transport = "smtp": what a newcomer does."""
    folder = tmp_path / "site"
    assert run_cli("init", str(folder)).returncode == 0
    shutil.copy(ROOT / "examples" / "nato" / "feed.xml", folder / "feed.xml")
    config = folder / "newsletter.toml"
    text = config.read_text()
    text = text.replace('url = "https://example.org/feed.xml"', 'path = "feed.xml"')
    text = text.replace('transport = "maildir"', 'transport = "smtp"', 1)
    text = text.replace('host = "localhost"', 'host = "127.0.0.1"', 1).replace(
        "port = 587", f"port = {smtp_server.port}", 1
    )
    text = text.replace('security = "starttls"', 'security = "none"', 1)
    config.write_text(text)
    return config


def test_inits_config_over_smtp_fails_each_default_and_send_refuses_the_same(
    newcomer: Path, smtp_server: SmtpServer
) -> None:
    checked = cli(newcomer, "check", "--as-of", AS_OF)
    assert checked.returncode == 1
    out = lines(checked.stdout)
    for failure in (
        "FAIL from: [sender] from is newsletter@example.org, a placeholder domain",
        "FAIL postal address: [sender] postal_address is empty",
        "FAIL base url: [web] base_url is http://127.0.0.1:8025",
        "FAIL secret: $NEWSLETTER_SECRET is not set",
        "FAIL subscribers:",
    ):
        assert failure in out, (failure, out)
    assert f"pass smtp: 127.0.0.1:{smtp_server.port} answered" in out
    assert "warn dns: example.org is a placeholder" in out
    # the feed's local images are made into the email's own, at base_url: they fail nothing
    assert "images:" not in checked.stdout and "5 failed" in out

    dry = cli(newcomer, "send", "--dry-run", "--as-of", AS_OF)
    assert dry.returncode == 0
    said = lines(dry.stdout)
    assert "a real send would refuse: from:" in said and "postal address:" in said and "secret:" in said

    refused = cli(newcomer, "send", "--as-of", AS_OF)
    assert refused.returncode == 1
    error = lines(refused.stderr)
    assert "not sending: from:" in error and "base url:" in error and "send --anyway" in error
    assert smtp_server.received == []  # nothing sent
    assert (
        "nothing to do" not in cli(newcomer, "send", "--dry-run", "--as-of", AS_OF).stdout
    )  # nothing recorded

    anyway = cli(newcomer, "send", "--anyway", "--as-of", AS_OF)
    assert anyway.returncode == 0, anyway.stderr
    assert len(smtp_server.received) == 4
    assert "(sending anyway)" in anyway.stderr


def test_an_unset_password_variable_is_named_by_check_dry_run_and_send(newcomer: Path) -> None:
    newcomer.write_text(newcomer.read_text().replace('username = ""', 'username = "mailer"', 1))
    for args in (("check",), ("send", "--dry-run"), ("send",)):
        result = cli(newcomer, *args, "--as-of", AS_OF)
        said = lines(result.stdout + result.stderr)
        assert "username is mailer but $NEWSLETTER_SMTP_PASSWORD is empty" in said, (args, said)


@pytest.fixture(scope="module")
def dkim_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path_factory.mktemp("dkim") / "dkim.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return path, base64.b64encode(public).decode()


@pytest.fixture
def ready(
    newcomer: Path, dkim_key: tuple[Path, str]
) -> Iterator[tuple[Path, dict[str, list[str]], dict[str, str]]]:
    """The newcomer's config made ready, and a DNS server on 127.0.0.1 publishing its records."""
    key, public = dkim_key
    text = newcomer.read_text()
    text = text.replace(
        'from = "Newsletter <newsletter@example.org>"', f'from = "The Digest <news@{DOMAIN}>"'
    )
    text = text.replace('postal_address = ""', 'postal_address = "Boulevard Leopold III, 1110 Brussels"')
    text = text.replace('base_url = "http://127.0.0.1:8025"', f'base_url = "https://news.{DOMAIN}"')
    text = text.replace('dkim_key = ""', f'dkim_key = "{key}"').replace(
        'dkim_selector = ""', 'dkim_selector = "s1"'
    )
    text = text.replace('return_path = ""', f'return_path = "bounces@{DOMAIN}"')
    newcomer.write_text(text)
    feed = newcomer.parent / "feed.xml"  # its images published over https, as a real feed's are
    feed.write_text(feed.read_text().replace('url="images/', f'url="https://news.{DOMAIN}/images/'))
    # the email shows them as they are (this machine cannot reach that host to fetch them)
    newcomer.write_text(newcomer.read_text().replace("process = true", "process = false", 1))
    (newcomer.parent / "subscribers.csv").write_text("email,name\nreader@nato-digest.eu,A Reader\n")
    records = {
        DOMAIN: ["v=spf1 ip4:192.0.2.10 -all"],
        f"_dmarc.{DOMAIN}": ["v=DMARC1; p=quarantine; rua=mailto:dmarc@nato-digest.eu"],
        f"s1._domainkey.{DOMAIN}": [f"v=DKIM1; k=rsa; p={public}"],
    }
    with dns_server(records) as nameserver:
        yield newcomer, records, {"NEWSLETTER_SECRET": SECRET, "NEWSLETTER_NAMESERVER": nameserver}


def test_a_ready_config_passes_every_check_against_real_dns(ready, smtp_server: SmtpServer) -> None:
    config, _records, env = ready
    checked = cli(config, "check", "--as-of", AS_OF, env=env)
    out = lines(checked.stdout)
    assert checked.returncode == 0, out
    assert "pass spf: v=spf1 ip4:192.0.2.10 -all" in out
    assert "pass dmarc: policy quarantine" in out
    assert "pass dkim: s1._domainkey.nato-digest.eu holds the key's public half (2048 bits)" in out
    assert "0 failed, 0 warning(s)" in out
    sent = cli(config, "send", "--as-of", AS_OF, env=env)
    assert sent.returncode == 0, sent.stderr
    assert [r.recipients for r in smtp_server.received] == [["reader@nato-digest.eu"]]


def test_dns_records_that_are_missing_or_wrong_fail_and_an_unreachable_resolver_only_warns(
    ready, dkim_key: tuple[Path, str]
) -> None:
    config, records, env = ready
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    wrong = base64.b64encode(
        other.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    ).decode()
    records[f"s1._domainkey.{DOMAIN}"] = [f"v=DKIM1; k=rsa; p={wrong}"]
    del records[f"_dmarc.{DOMAIN}"]
    records[DOMAIN] = ["google-site-verification=abc"]
    out = lines(cli(config, "check", "--as-of", AS_OF, env=env).stdout)
    assert "FAIL spf: nato-digest.eu has no SPF record" in out
    assert "FAIL dmarc: _dmarc.nato-digest.eu has no DMARC record" in out
    assert "FAIL dkim: s1._domainkey.nato-digest.eu holds a different public key" in out
    refused = cli(config, "send", "--as-of", AS_OF, env=env)
    assert refused.returncode == 1 and "spf:" in refused.stderr
    # A DKIM domain that is not From's is not aligned.
    config.write_text(config.read_text().replace('dkim_domain = ""', 'dkim_domain = "elsewhere.example.net"'))
    out = lines(cli(config, "check", "--as-of", AS_OF, env=env).stdout)
    assert "FAIL dkim: the DKIM domain elsewhere.example.net is not aligned with From's nato-digest.eu" in out
    # Nobody answers DNS: warnings, never failures, so an offline machine can still send.
    config.write_text(config.read_text().replace('dkim_domain = "elsewhere.example.net"', 'dkim_domain = ""'))
    silent = {**env, "NEWSLETTER_NAMESERVER": f"127.0.0.1:{free_port()}"}
    checked = cli(config, "check", "--as-of", AS_OF, env=silent)
    out = lines(checked.stdout)
    assert "warn spf: the SPF lookup for nato-digest.eu could not be made" in out
    assert checked.returncode == 0, out
