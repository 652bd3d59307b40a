"""Delivery speed and memory: `newsletter send` against Postfix's smtp-sink, beside smtp-source.

    python bench/send.py                      # 100,000 subscribers, 8 connections
    python bench/send.py --subscribers 1000000 --dkim

Builds the NATO example in a temporary folder with N subscribers (inserted straight into the
store), starts /usr/sbin/smtp-sink on 127.0.0.1, sends the issue with the real command
(`python -m newsletter send`, the ledger on, personalised per recipient), then sends the same
message bytes N times with /usr/sbin/smtp-source (-d: connections reused, as ours are) to the same
sink. Prints both rates, their ratio, and the peak memory of the send (parent plus workers),
sampled from /proc every 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "nato"
SINK, SOURCE = "/usr/sbin/smtp-sink", "/usr/sbin/smtp-source"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_project(folder: Path, port: int, connections: int, dkim: bool) -> Path:
    project = folder / "nato"
    shutil.copytree(
        EXAMPLE, project, ignore=shutil.ignore_patterns("outbox", "*.db", "*.db-*", "*.send-lock")
    )
    config = project / "newsletter.toml"
    text = config.read_text().replace('csv = "../../subscribers.example.csv"', 'csv = ""')
    delivery = (
        f'transport = "smtp"\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
        f"connections = {connections}\nmax_errors_in_a_row = 1000\n"
    )
    if dkim:
        subprocess.run(
            ["openssl", "genrsa", "-out", str(project / "dkim.pem"), "2048"], check=True, capture_output=True
        )
        delivery += 'dkim_key = "dkim.pem"\ndkim_selector = "bench"\n'
    config.write_text(text.replace('transport = "maildir"\n', delivery))
    return config


def add_subscribers(config: Path, count: int) -> None:
    """Create the store with the real schema, then insert the list in batches."""
    from newsletter import store
    from newsletter.config import load_settings

    settings = load_settings(config)
    store.open_engine(settings.database_url).dispose()
    db = sqlite3.connect(settings.database_url.removeprefix("sqlite:///"))
    now = time.strftime("%Y-%m-%d %H:%M:%S")
    fields = json.dumps({"city": "Brussels"})
    for start in range(0, count, 50_000):
        rows = [
            (f"reader{i}@example.org", f"Reader {i}", fields, "active", now, "")
            for i in range(start, min(count, start + 50_000))
        ]
        db.executemany(
            "INSERT INTO subscribers (email, name, fields, status, changed_at, cause) VALUES (?,?,?,?,?,?)",
            rows,
        )
    db.commit()
    db.close()


def tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        try:
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        todo.extend(int(c) for c in children)
    return pids


def memory_kb(pids: list[int]) -> dict[str, int]:
    """In kB: the parent's RSS, the largest worker's RSS and private memory, the sum of every RSS,
    and the sum of every PSS. Forked workers share the parent's pages until they write to them:
    a sum of RSS counts those pages once per process, PSS splits them, so the sum of PSS is the
    memory the send really holds."""
    out = dict.fromkeys(("parent_rss", "worker_rss", "worker_private", "sum_rss", "sum_pss"), 0)
    for i, p in enumerate(pids):
        values = {}
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines()[1:]:
                key, value = line.split(":", 1)
                values[key] = int(value.split()[0])
        except (OSError, ValueError):
            continue
        private = values.get("Private_Clean", 0) + values.get("Private_Dirty", 0)
        if i == 0:
            out["parent_rss"] = values.get("Rss", 0)
        else:
            out["worker_rss"] = max(out["worker_rss"], values.get("Rss", 0))
            out["worker_private"] = max(out["worker_private"], private)
        out["sum_rss"] += values.get("Rss", 0)
        out["sum_pss"] += values.get("Pss", 0)
    return out


def run_send(config: Path) -> tuple[float, dict[str, int], str]:
    env = {**os.environ, "NO_COLOR": "1"}
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "newsletter", "--config", str(config), "send", "--as-of", "2023-11-17"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    peak: dict[str, int] = {}
    while proc.poll() is None:
        for key, value in memory_kb(tree(proc.pid)).items():
            peak[key] = max(peak.get(key, 0), value)
        time.sleep(0.05)
    output = proc.stdout.read() if proc.stdout else ""
    return time.perf_counter() - started, peak, output


def ledger_rate(config: Path) -> tuple[int, float]:
    """(messages sent, seconds from the first verdict to the last): the delivery phase alone."""
    from newsletter.config import load_settings

    db = sqlite3.connect(load_settings(config).database_url.removeprefix("sqlite:///"))
    n, first, last = db.execute(
        "SELECT count(*), min(updated_at), max(updated_at) FROM deliveries WHERE state = 'sent'"
    ).fetchone()
    db.close()
    return n, (last - first) if n else 0.0


def sample_message(config: Path) -> bytes:
    from newsletter.compose import Composer
    from newsletter.config import load_settings
    from newsletter.pipeline import rendered_for, stored_issue
    from newsletter.store import open_engine

    settings = load_settings(config)
    issue = stored_issue(settings, open_engine(settings.database_url), "2023-W46")
    assert issue is not None
    rendered = rendered_for(settings, open_engine(settings.database_url), issue)
    from newsletter.models import Subscriber

    return Composer(settings, rendered).compose(
        Subscriber("reader1@example.org", "Reader 1", {"city": "Brussels"})
    )


def run_source(port: int, message: bytes, count: int, sessions: int, folder: Path) -> float:
    path = folder / "message.txt"
    path.write_bytes(message.replace(b"\r\n", b"\n"))  # smtp-source appends CRLF to each line
    started = time.perf_counter()
    subprocess.run(
        [
            SOURCE,
            "-d",
            "-s",
            str(sessions),
            "-m",
            str(count),
            "-F",
            str(path),
            "-f",
            "news@example.org",
            "-t",
            "reader@example.org",
            f"127.0.0.1:{port}",
        ],
        check=True,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscribers", "-n", type=int, default=100_000)
    parser.add_argument("--connections", "-c", type=int, default=8)
    parser.add_argument(
        "--dkim", action="store_true", help="sign every message (a 2048-bit key made for the run)"
    )
    parser.add_argument("--no-source", action="store_true", help="skip the smtp-source comparison")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="newsletter-bench-") as tmp:
        folder = Path(tmp)
        port = free_port()
        sink = subprocess.Popen([SINK, "-u", "nobody", f"127.0.0.1:{port}", "1000"])
        try:
            time.sleep(0.3)
            config = make_project(folder, port, args.connections, args.dkim)
            t = time.perf_counter()
            add_subscribers(config, args.subscribers)
            print(f"{args.subscribers} subscribers inserted in {time.perf_counter() - t:.1f} s")
            wall, peak, output = run_send(config)
            sent, seconds = ledger_rate(config)
            print(output.strip().splitlines()[-1] if output.strip() else "(no output)")
            if sent != args.subscribers:
                print(output)
                raise SystemExit(f"only {sent} of {args.subscribers} sent")
            ours = sent / seconds
            message = sample_message(config)
            print(
                f"newsletter send: {sent} messages of {len(message)} bytes, {args.connections} connections"
                f"{', DKIM-signed' if args.dkim else ''}: {ours:,.0f} messages/s while delivering "
                f"({seconds:.1f} s; {wall:.1f} s for the whole command with collect, render and enqueue)"
            )
            mb = {k: v / 1024 for k, v in peak.items()}
            print(
                f"peak memory: parent RSS {mb['parent_rss']:.0f} MB; each worker RSS {mb['worker_rss']:.0f} MB, "
                f"of it private {mb['worker_private']:.0f} MB; parent + workers: PSS {mb['sum_pss']:.0f} MB "
                f"(a plain sum of RSS, counting shared pages once per process: {mb['sum_rss']:.0f} MB)"
            )
            if not args.no_source:
                source_seconds = run_source(port, message, args.subscribers, args.connections, folder)
                theirs = args.subscribers / source_seconds
                print(
                    f"smtp-source -d -s {args.connections}: {theirs:,.0f} messages/s ({source_seconds:.1f} s)"
                )
                print(f"ratio newsletter / smtp-source: {ours / theirs:.2f} (target: at least 0.5)")
        finally:
            sink.terminate()
            sink.wait()


if __name__ == "__main__":
    main()
