"""What a newcomer tripped on, each said in a sentence that names the key or the file and what to do:
a config mistake stops every command, SMTP setups that cannot work, a port in use, a stopped
send, the addresses the CSV still lists after they left, where Maildir mail went."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from conftest import RecordingHandler, SlowHandler, SmtpServer, run_cli, running_smtp, use_smtp
from zygote import newsletter_process

AS_OF = "2023-11-17"


def cli(config: Path, *args: str):  # type: ignore[no-untyped-def]
    return run_cli("--config", str(config), *args)


def said(result: subprocess.CompletedProcess[str]) -> str:
    return " ".join((result.stdout + result.stderr).split())


@pytest.mark.parametrize(
    ("section", "line", "says"),
    [
        ("[schedule]", 'when = "5 09:00"', "[schedule] when = '5 09:00': day numbers are ambiguous"),
        ("[theme]", 'date_format = "%Y-%m-%d"', "[theme] date_format '%Y-%m-%d' is a strftime pattern"),
        ("[theme]", 'logo = "logo.png"', "[theme] logo"),
        ("[theme]", 'accent = "navy"', "[theme] accent 'navy' is not a hex colour"),
    ],
)
def test_a_mistake_in_the_file_stops_every_command(example: Path, section: str, line: str, says: str) -> None:
    text = example.read_text()
    key = line.split(" =")[0]
    if f"\n{key} = " in text:  # the example sets it already
        text = re.sub(rf"\n{key} = [^\n]*", "\n" + line, text, count=1)
    elif section in text:
        text = text.replace(section + "\n", f"{section}\n{line}\n", 1)
    else:
        text += f"\n{section}\n{line}\n"
    example.write_text(text)
    for command in (("subscribers", "list"), ("status",)):
        result = cli(example, *command)
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert says in said(result), said(result)
    if "logo" in line:
        assert "does not exist" in said(result) and "logo.png" in said(result)


def test_smtp_setups_that_cannot_work_are_named(
    example: Path, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    use_smtp(example, smtp_server.host, smtp_server.port)
    plain = example.read_text()
    # "tls" against a plain server.
    example.write_text(plain.replace('security = "none"', 'security = "tls"\ntls_verify = false'))
    result = cli(example, "send", "--as-of", AS_OF)
    assert result.returncode == 1
    assert 'does not speak TLS from the first byte (security = "tls")' in said(result)
    assert 'security = "starttls"' in said(result)
    # A CA file that is not there.
    example.write_text(
        plain.replace('security = "none"', f'security = "starttls"\ntls_ca_file = "{tmp_path}/ca.pem"')
    )
    result = cli(example, "send", "--as-of", AS_OF)
    assert result.returncode == 1 and f"[delivery] tls_ca_file: {tmp_path}/ca.pem does not exist" in said(
        result
    )
    # A username without its password variable.
    example.write_text(plain.replace('security = "none"', 'security = "none"\nusername = "mailer"'))
    result = cli(example, "send", "--as-of", AS_OF)
    assert result.returncode == 1
    assert "[delivery] username is mailer but $NEWSLETTER_SMTP_PASSWORD is empty" in said(result)
    assert smtp_server.received == []


def test_serve_on_a_port_in_use_says_so_in_one_line(example: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli(example, "serve", "--port", str(port))
    assert result.returncode == 1 and "serving" not in result.stdout
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in said(result)
    assert "give --port" in said(result)


def test_the_send_says_where_maildir_mail_went_and_names_who_left(example: Path) -> None:
    sent = cli(example, "send", "--as-of", AS_OF)
    assert f"4 sent, 0 waiting, 0 failed (into the Maildir {example.parent / 'outbox'}" in said(sent)
    assert cli(example, "subscribers", "remove", "grace@example.org").returncode == 0
    again = cli(example, "send", "--as-of", "2023-11-24")
    assert "1 address(es) in the CSV left the list earlier and get nothing: grace@example.org" in said(again)


def test_nothing_due_yet_is_not_sending_to_anyone(example: Path) -> None:
    def busy(_envelope: object) -> str:
        return "451 4.3.0 try again later"

    with running_smtp(RecordingHandler(answer=busy)) as server:
        use_smtp(example, server.host, server.port)
        example.write_text(
            example.read_text().replace("retry_base_seconds = 0.05", "retry_base_seconds = 3600")
        )
        first = cli(example, "send", "--as-of", AS_OF)
        assert "sending to 4 recipient(s)" in first.stdout and "0 sent, 4 waiting" in said(first)
        second = cli(example, "send", "--as-of", AS_OF)
    assert "sending to" not in second.stdout, second.stdout
    assert "0 sent, 4 waiting, 0 failed" in said(second) and "next attempt at" in said(second)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_send_says_what_it_sent_and_that_send_resumes(example: Path, sig: signal.Signals) -> None:
    with running_smtp(SlowHandler(delay=0.4)) as server:
        use_smtp(example, server.host, server.port)
        example.write_text(
            example.read_text().replace('security = "none"', 'security = "none"\nconnections = 1')
        )
        process = newsletter_process(
            ["--config", str(example), "send", "--as-of", AS_OF],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while not server.received:
            assert time.monotonic() < deadline and process.poll() is None, "no message arrived"
            time.sleep(0.02)
        process.send_signal(sig)
        out, err = process.communicate(timeout=60)
        got = len(server.received)
        assert process.returncode == 128 + sig, err
        assert f"stopped by {sig.name} after the message in flight: {got} sent by this run" in " ".join(
            err.split()
        )
        assert "run `newsletter send` again to send the rest" in " ".join(err.split())
        assert "Aborted" not in out + err
        assert got < 4
        resumed = cli(example, "send", "--as-of", AS_OF)
        assert resumed.returncode == 0, resumed.stderr
    assert sorted(r.recipients[0] for r in server.received) == sorted(
        ["ada@example.org", "grace@example.org", "linus@example.org", "margaret@example.org"]
    )
