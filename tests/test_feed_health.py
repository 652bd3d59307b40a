"""Feed health: a source failing [feeds] alert_after reads in a row, or quiet for quiet_after periods,
emails the editors once, and its recovery once more; `status` lists every source."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import SmtpServer, run_cli

EDITOR = "editor@example.org"


def rss(*items: tuple[str, str, str]) -> str:
    body = "".join(
        f"<item><title>{t}</title><link>{link}</link><pubDate>{d}</pubDate></item>" for t, link, d in items
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>F</title><link>http://e.org/</link>{body}</channel></rss>'


STEADY = rss(("A steady story of the week", "http://e.org/s1", "Thu, 16 Nov 2023 10:00:00 +0100"))
FLAKY = rss(("The flaky feed is back", "http://e.org/f1", "Thu, 16 Nov 2023 11:00:00 +0100"))


def project(folder: Path, smtp: SmtpServer, sources: str, extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "steady.xml").write_text(STEADY)
    config = folder / "newsletter.toml"
    config.write_text(
        f"""
[newsletter]
name = "T"
timezone = "Europe/Brussels"
database = "n.db"

[sender]
from = "T <news@example.org>"

[[sources]]
name = "Steady"
path = "steady.xml"

{sources}

[delivery]
transport = "smtp"
host = "127.0.0.1"
port = {smtp.port}
security = "none"
readiness = "off"

{extra}
""",
        encoding="utf-8",
    )
    return config


def collect(config: Path, day: str = "2023-11-17") -> str:
    result = run_cli("--config", str(config), "collect", "--as-of", day)
    assert result.returncode == 0, result.stderr
    return result.stderr


def test_a_source_failing_three_reads_in_a_row_alerts_once_and_its_recovery_once(
    tmp_path: Path, http_dir: tuple[Path, str], smtp_server: SmtpServer
) -> None:
    folder, base = http_dir
    config = project(
        tmp_path / "p",
        smtp_server,
        f'[[sources]]\nname = "Flaky"\nurl = "{base}/flaky.xml"',
        f'[schedule]\neditors = ["{EDITOR}"]',
    )
    for _ in range(2):
        collect(config)
    assert smtp_server.received == []  # two failures: not yet
    said = collect(config)
    assert f"emailed {EDITOR}: source 'Flaky' cannot be read" in said
    (alert,) = smtp_server.received
    assert alert.recipients == [EDITOR]
    message = alert.message
    assert message["Subject"] == "[T] source 'Flaky' cannot be read"
    body = message.get_content()
    assert "could not be read 3 times in a row" in body and "404" in body and "What to try" in body
    assert "Last read: never" in body

    collect(config)  # still failing: nothing more
    assert len(smtp_server.received) == 1
    status = run_cli("--config", str(config), "status").stdout
    flaky = next(line for line in status.splitlines() if line.startswith("Flaky"))
    assert flaky.split("\t")[1:5] == ["never", "0", "0", "4"] and "404" in flaky
    steady = next(line for line in status.splitlines() if line.startswith("Steady"))
    assert re.match(r"Steady\t\d{4}-\d\d-\d\d \d\d:\d\d\t1\t1\t0\t-$", steady), steady

    (folder / "flaky.xml").write_text(FLAKY)
    collect(config)
    assert len(smtp_server.received) == 2
    recovered = smtp_server.received[1].message
    assert recovered["Subject"] == "[T] source 'Flaky' can be read again"
    collect(config)
    assert len(smtp_server.received) == 2  # told once
    status = run_cli("--config", str(config), "status").stdout
    flaky = next(line for line in status.splitlines() if line.startswith("Flaky"))
    assert flaky.split("\t")[2:] == ["1", "1", "0", "-"]


def test_a_source_with_nothing_new_for_quiet_after_periods_alerts_the_admin_once(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    # No [schedule] editors: the alerts go to [sender] admin.
    config = project(
        tmp_path / "p",
        smtp_server,
        "",
        "[feeds]\nquiet_after = 2\n",
    )
    config.write_text(config.read_text().replace("[sender]\n", '[sender]\nadmin = "admin@example.org"\n', 1))
    # Nothing is sent here, so the story of 16 November is new in the first windows of two issues:
    # those of 17 and 24 November (a first window starts on the Monday of the week before).
    for day in ("2023-11-17", "2023-11-24", "2023-12-01"):
        collect(config, day)
    assert smtp_server.received == []  # one week without anything new
    collect(config, "2023-12-08")  # two weeks
    (quiet,) = smtp_server.received
    assert quiet.recipients == ["admin@example.org"]
    assert quiet.message["Subject"] == "[T] source 'Steady' has had nothing new for 2 weeks"
    assert "since 2023-11-24 23:59 CET" in quiet.message.get_content()
    collect(config, "2023-12-15")
    assert len(smtp_server.received) == 1

    (tmp_path / "p" / "steady.xml").write_text(
        rss(("News at last", "http://e.org/s2", "Thu, 21 Dec 2023 10:00:00 +0100"))
    )
    collect(config, "2023-12-22")
    assert len(smtp_server.received) == 2
    assert smtp_server.received[1].message["Subject"] == "[T] source 'Steady' has something new again"
