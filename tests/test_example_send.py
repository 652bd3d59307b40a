"""The offline example, end to end through the real entry point: collect, preview, send, send again."""

from __future__ import annotations

import email
import email.policy
import mailbox
from pathlib import Path

from conftest import ROOT, free_port, run_cli, use_smtp

HEADLINE = "NATO Secretary General meets EU College of Commissioners"
SUBSCRIBERS = ["ada@example.org", "grace@example.org", "linus@example.org", "margaret@example.org"]


def check_digest(data: bytes) -> email.message.EmailMessage:
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["Subject"] == "What's new at NATO: 17 November 2023"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert HEADLINE in text and HEADLINE in html
    assert "Watch Video" in html and "Top Five Russian Myths Debunked" in html
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = msg["List-Unsubscribe"].split(",")[0].strip("<> ")
    assert unsubscribe.startswith("http://127.0.0.1:8025/unsubscribe/")
    assert f'href="{unsubscribe}"' in html and unsubscribe in text
    return msg


def test_send_to_maildir_delivers_once(example: Path) -> None:
    # the command as the README and the issue give it: --config after the command name
    first = run_cli("send", "--config", str(example), "--as-of", "2023-11-17")
    assert first.returncode == 0, first.stderr
    assert "4 sent" in first.stdout
    box = mailbox.Maildir(example.parent / "outbox", create=False)
    messages = [m.as_bytes() for m in box]
    assert len(messages) == 4
    recipients = sorted(check_digest(m)["To"].addresses[0].addr_spec for m in messages)
    assert recipients == SUBSCRIBERS
    again = run_cli("--config", str(example), "send", "--as-of", "2023-11-17")
    assert again.returncode == 0, again.stderr
    assert "nothing to do" in again.stdout
    assert len(list(mailbox.Maildir(example.parent / "outbox", create=False))) == 4


def test_send_over_smtp_and_again_sends_nothing(example: Path, smtp_server) -> None:
    use_smtp(example, smtp_server.host, smtp_server.port)
    result = run_cli("--config", str(example), "send", "--as-of", "2023-11-17")
    assert result.returncode == 0, result.stderr
    assert sorted(r.recipients[0] for r in smtp_server.received) == SUBSCRIBERS
    for received in smtp_server.received:
        msg = check_digest(received.data)
        assert msg["To"].addresses[0].addr_spec == received.recipients[0]
        assert received.envelope_from == "news@example.org"
    assert run_cli("--config", str(example), "send", "--as-of", "2023-11-17").returncode == 0
    assert len(smtp_server.received) == 4


def test_refused_connection_records_nothing_and_next_send_delivers(example: Path, smtp_server) -> None:
    closed = free_port()
    use_smtp(example, "127.0.0.1", closed)
    refused = run_cli("--config", str(example), "send", "--as-of", "2023-11-17")
    assert refused.returncode == 1
    assert f"cannot connect to the SMTP server 127.0.0.1:{closed}" in refused.stderr
    assert "hint:" in refused.stderr
    status = run_cli("--config", str(example), "status")
    assert "2023-W46" not in status.stdout or " 0 " in status.stdout
    example.write_text(example.read_text().replace(f"port = {closed}", f"port = {smtp_server.port}"))
    ok = run_cli("--config", str(example), "send", "--as-of", "2023-11-17")
    assert ok.returncode == 0, ok.stderr
    assert len(smtp_server.received) == 4


def test_feed_over_http_and_a_broken_feed_only_warns(example: Path, http_dir, smtp_server) -> None:
    folder, base = http_dir
    (folder / "feed.xml").write_bytes((example.parent / "feed.xml").read_bytes())
    text = example.read_text().replace('path = "feed.xml"', f'url = "{base}/feed.xml"')
    text += '\n[[sources]]\nname = "Gone"\nurl = "' + base + '/missing.xml"\n'
    example.write_text(text)
    use_smtp(example, smtp_server.host, smtp_server.port)
    result = run_cli("--config", str(example), "send", "--as-of", "2023-11-17")
    assert result.returncode == 0, result.stderr
    assert "source 'Gone'" in result.stderr and "HTTP 404" in result.stderr
    assert len(smtp_server.received) == 4
    html = smtp_server.received[0].message.get_body(("html",)).get_content()
    assert HEADLINE in html


def test_preview_writes_html_text_and_eml(example: Path, tmp_path: Path) -> None:
    out = tmp_path / "preview"
    result = run_cli("--config", str(example), "preview", "--as-of", "2023-11-17", "--out", str(out))
    assert result.returncode == 0, result.stderr
    html = (out / "issue.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and HEADLINE in html and "17 November 2023" in html
    assert "@@" not in html and "@@" not in (out / "issue.txt").read_text()
    check_digest((out / "issue.eml").read_bytes())
    assert "issue.html" in result.stdout
    # a preview records no delivery
    assert not (example.parent / "outbox").exists()


def test_collect_shows_the_headline(example: Path) -> None:
    result = run_cli("--config", str(example), "collect", "--as-of", "2023-11-17")
    assert result.returncode == 0, result.stderr
    first_row = next(line for line in result.stdout.splitlines() if "headline" in line)
    assert "EU College of" in first_row


def test_nothing_new_exits_zero(example: Path) -> None:
    result = run_cli("--config", str(example), "send", "--as-of", "2021-01-01")
    assert result.returncode == 0, result.stderr
    assert "nothing new since" in result.stdout


def test_init_then_preview_works(tmp_path: Path) -> None:
    project = tmp_path / "mine"
    assert run_cli("init", str(project)).returncode == 0
    assert (project / "newsletter.toml").is_file() and (project / "templates" / "digest.mjml.j2").is_file()
    config = project / "newsletter.toml"
    feed = ROOT / "examples" / "nato" / "feed.xml"
    config.write_text(
        config.read_text()
        .replace('url = "https://example.org/feed.xml"', f'path = "{feed}"')
        .replace('templates = ""', 'templates = "templates"')
    )
    result = run_cli(
        "--config", str(config), "preview", "--as-of", "2023-11-17", "--out", str(tmp_path / "p")
    )
    assert result.returncode == 0, result.stderr
    assert "EU College of Commissioners" in (tmp_path / "p" / "issue.html").read_text()


def test_dry_run_changes_nothing_and_counts_the_csv(example: Path) -> None:
    result = run_cli("--config", str(example), "send", "--dry-run", "--as-of", "2023-11-17")
    assert result.returncode == 0, result.stderr
    assert "to 4 subscriber(s)" in result.stdout
    listed = run_cli("--config", str(example), "subscribers", "list")
    assert "ada@example.org" not in listed.stdout  # the CSV was not synced into the store


def test_send_warns_about_local_images_over_smtp_and_the_default_secret(example: Path, smtp_server) -> None:
    use_smtp(example, smtp_server.host, smtp_server.port)
    # the feed's images as they are (file: URLs), not made into the email's own
    example.write_text(example.read_text() + "\n[images]\nprocess = false\n")
    result = run_cli("--config", str(example), "send", "--dry-run", "--as-of", "2023-11-17")
    assert result.returncode == 0, result.stderr
    assert "local files (file: URLs) that subscribers cannot load" in result.stderr
    assert "NEWSLETTER_SECRET is not set" in result.stderr
    quiet = run_cli(
        "--config",
        str(example),
        "send",
        "--dry-run",
        "--as-of",
        "2023-11-17",
        env={"NEWSLETTER_SECRET": "s3cret-for-the-test"},
    )
    assert "NEWSLETTER_SECRET is not set" not in quiet.stderr
