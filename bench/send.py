"""Delivery speed and memory: `newsletter send` against Postfix's smtp-sink, beside smtp-source.

    python bench/send.py                      # 100,000 subscribers, 8 connections, SQLite
    python bench/send.py --subscribers 1000000 --dkim
    python bench/send.py --database postgresql://postgres@127.0.0.1/test --senders 3 --connections 4

Builds the NATO example in a temporary folder with N subscribers (inserted straight into the
store), starts /usr/sbin/smtp-sink on 127.0.0.1, sends the issue with the real command
(`python -m newsletter send`, the ledger on, personalised per recipient), then sends the same
message bytes N times with /usr/sbin/smtp-source (-d: connections reused, as ours are) to the same
sink. Prints both rates, their ratio, our CPU per message while delivering (the whole command's
CPU from getrusage of the reaped children, less what it had used when it started delivering), and
the peak memory of the send, sampled from /proc every 0.5 s (every 50 ms until delivery starts,
reading small files, to place that moment).

Over SMTP the command prepares the issue, then replaces itself (exec, the same process id) with
the lean image that delivers it: "while delivering" is that image (and its worker processes, when
it has some: signing and TLS), "whole command" also the preparing image before it.

``--runs K`` repeats the whole comparison K times (a new project and sink each time, ours then
smtp-source's) and prints the median ratio: on a shared machine the rate of either side moves by
a tenth or more from one half-minute to the next.

With ``--database``, the ledger is on that PostgreSQL server, in a database made for the run and
dropped after it; ``--senders K`` then runs K `send` processes at once, each from its own folder
(as on K machines), each with ``--connections`` connections. The enqueue (one INSERT ... SELECT
giving every subscriber a ledger row) is timed on its own before the send.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "nato"
SINK, SOURCE = "/usr/sbin/smtp-sink", "/usr/sbin/smtp-source"
TICKS = os.sysconf("SC_CLK_TCK")


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
        f'connections = {connections}\nmax_errors_in_a_row = 1000\nreadiness = "off"\n'
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
    from sqlalchemy import insert

    from newsletter import store
    from newsletter.config import load_settings
    from newsletter.store.schema import subscribers

    settings = load_settings(config)
    engine = store.open_engine(settings.database_url)
    now = store.now()
    fields = json.dumps({"city": "Brussels"})
    with engine.begin() as conn:
        for start in range(0, count, 50_000):
            rows = [
                {"email": f"reader{i}@example.org", "name": f"Reader {i}", "fields": fields}
                | {"status": "active", "changed_at": now, "cause": ""}
                for i in range(start, min(count, start + 50_000))
            ]
            conn.execute(insert(subscribers), rows)
    engine.dispose()


def time_enqueue(config: Path) -> tuple[int, float]:
    """Collect the issue, then time the real enqueue of every subscriber; the send finds it done."""
    from newsletter import store
    from newsletter.collect import as_of_moment, collect
    from newsletter.config import load_settings

    settings = load_settings(config)
    engine = store.open_engine(settings.database_url)
    issue, _ = collect(settings, engine, as_of_moment(date(2023, 11, 17), settings.zone))
    row = store.issues.get(engine, issue.period.key)
    assert row is not None
    started = time.perf_counter()
    rows = store.ledger.enqueue(engine, row.id)
    seconds = time.perf_counter() - started
    engine.dispose()
    return rows, seconds


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


def cpu_seconds(pid: int) -> float:
    """The CPU time ``pid`` used itself (user + system), from /proc/PID/stat; 0.0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def delivering(pids: list[int]) -> bool:
    """Whether a `send` command (``pids``: it and its children) is delivering: it replaced itself
    with the delivery image, or it has worker processes."""
    try:
        return len(pids) > 1 or b"handed_off" in Path(f"/proc/{pids[0]}/cmdline").read_bytes()
    except OSError:
        return False


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Sends:
    """What the `send` commands did together."""

    wall: float
    outputs: list[str]
    peak: dict[str, int]  # over the whole commands
    peak_delivering: dict[str, int]  # while they had children (delivery)
    cpu_total: float  # every process of the commands, seconds
    cpu_preparing: float  # the commands' own CPU until their first child started
    cpu_parents: float  # the commands' own CPU after that (the send loops), last sampled
    cpu_workers: float  # their children's, last sampled (up to 0.5 s of the end missing)


def run_sends(configs: list[Path]) -> Sends:
    """Run one `send` per config at once: their peak memory together, their CPU, and each output."""
    env = {**os.environ, "NO_COLOR": "1"}
    cpu_before = children_cpu()
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "newsletter", "--config", str(config), "send", "--as-of", "2023-11-17"],
            cwd=config.parent,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        for config in configs
    ]
    peak: dict[str, int] = {}
    peak_delivering: dict[str, int] = {}
    preparing = {proc.pid: 0.0 for proc in procs}  # own CPU until the first child
    last: dict[int, float] = {}  # every process's own CPU, last sampled
    next_memory = 0.0
    while any(proc.poll() is None for proc in procs):
        trees = {proc.pid: tree(proc.pid) for proc in procs}
        for pid, pids in trees.items():
            if last.get(-pid):
                continue
            if delivering(pids):
                last[-pid] = 1.0  # its preparing figure is final
            else:
                preparing[pid] = cpu_seconds(pid)
        if time.perf_counter() >= next_memory:
            next_memory = time.perf_counter() + 0.5
            total: dict[str, int] = {}
            for pids in trees.values():
                for key, value in memory_kb(pids).items():
                    keep = key in ("worker_rss", "worker_private")
                    total[key] = value if keep else total.get(key, 0) + value
                for p in pids:
                    last[p] = cpu_seconds(p) or last.get(p, 0.0)
            now_delivering = any(delivering(pids) for pids in trees.values())
            for key, value in total.items():
                peak[key] = max(peak.get(key, 0), value)
                if now_delivering:
                    peak_delivering[key] = max(peak_delivering.get(key, 0), value)
        waiting = any(not last.get(-proc.pid) for proc in procs)
        time.sleep(0.05 if waiting else 0.5)  # finely until each command starts delivering
    outputs = [proc.communicate()[0] for proc in procs]
    wall = time.perf_counter() - started
    roots = {proc.pid for proc in procs}
    cpu_preparing = sum(preparing.values())
    return Sends(
        wall=wall,
        outputs=outputs,
        peak=peak,
        peak_delivering=peak_delivering,
        cpu_total=children_cpu() - cpu_before,
        cpu_preparing=cpu_preparing,
        cpu_parents=sum(v for p, v in last.items() if p in roots) - cpu_preparing,
        cpu_workers=sum(v for p, v in last.items() if p > 0 and p not in roots),
    )


def ledger_rate(config: Path) -> tuple[int, float]:
    """(messages sent, seconds from the first verdict to the last): the delivery phase alone."""
    from sqlalchemy import text

    from newsletter import store
    from newsletter.config import load_settings

    engine = store.open_engine(load_settings(config).database_url)
    with engine.connect() as conn:
        n, first, last = conn.execute(
            text("SELECT count(*), min(updated_at), max(updated_at) FROM deliveries WHERE state = 'sent'")
        ).one()
    engine.dispose()
    return n, (last - first) if n else 0.0


@contextmanager
def server_database(server: str | None) -> Iterator[None]:
    """A fresh database on the PostgreSQL ``server`` for the run, given to every command through
    $NEWSLETTER_DATABASE, and dropped afterwards; nothing for SQLite."""
    if not server:
        yield
        return
    import psycopg

    name = f"nl_bench_{secrets.token_hex(4)}"
    base, _, _ = server.rpartition("/")
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["NEWSLETTER_DATABASE"] = f"{base}/{name}"
    try:
        yield
    finally:
        os.environ.pop("NEWSLETTER_DATABASE", None)
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
    parser.add_argument(
        "--database", help="a PostgreSQL server URL (postgresql://user@host/db): the ledger goes there"
    )
    parser.add_argument("--senders", type=int, default=1, help="send processes at once (PostgreSQL)")
    parser.add_argument(
        "--runs", type=int, default=1, help="repeat the whole comparison; prints each ratio and their median"
    )
    args = parser.parse_args()
    ratios = []
    for run in range(args.runs):
        if args.runs > 1:
            print(f"-- run {run + 1} of {args.runs}")
        ratio = one_run(args)
        if ratio is not None:
            ratios.append(ratio)
    if len(ratios) > 1:
        listed = ", ".join(f"{r:.2f}" for r in ratios)
        print(f"ratios over {len(ratios)} runs: {listed}; median {statistics.median(ratios):.2f}")


def one_run(args: argparse.Namespace) -> float | None:
    """Our send, then smtp-source's, on a new project and sink: the ratio of their rates."""
    with tempfile.TemporaryDirectory(prefix="newsletter-bench-") as tmp, server_database(args.database):
        folder = Path(tmp)
        port = free_port()
        sink = subprocess.Popen([SINK, "-u", "nobody", f"127.0.0.1:{port}", "1000"])
        try:
            time.sleep(0.3)
            config = make_project(folder, port, args.connections, args.dkim)
            t = time.perf_counter()
            add_subscribers(config, args.subscribers)
            print(f"{args.subscribers} subscribers inserted in {time.perf_counter() - t:.1f} s")
            rows, enqueue_seconds = time_enqueue(config)
            print(f"enqueue: {rows} ledger rows in {enqueue_seconds:.1f} s")
            configs = [config]
            for n in range(1, args.senders):
                shutil.copytree(config.parent, folder / f"sender{n}")
                configs.append(folder / f"sender{n}" / config.name)
            sends = run_sends(configs)
            sent, seconds = ledger_rate(config)
            for output in sends.outputs:
                print(output.strip().splitlines()[-1] if output.strip() else "(no output)")
            if sent != args.subscribers:
                print("\n".join(sends.outputs))
                raise SystemExit(f"only {sent} of {args.subscribers} sent")
            ours = sent / seconds
            message = sample_message(config)
            where = f"PostgreSQL, {args.senders} sender(s)" if args.database else "SQLite"
            print(
                f"newsletter send ({where}): {sent} messages of {len(message)} bytes, {args.connections} "
                f"connections each{', DKIM-signed' if args.dkim else ''}: {ours:,.0f} messages/s while "
                f"delivering ({seconds:.1f} s; {sends.wall:.1f} s for the whole command with collect and render)"
            )
            delivering = sends.cpu_total - sends.cpu_preparing
            us = 1e6 / sent
            split = (
                f"send loop about {sends.cpu_parents * us:.0f}, workers about {sends.cpu_workers * us:.0f}"
                if sends.cpu_workers
                else "all in the send process: no worker process"
            )
            print(
                f"our CPU per message while delivering: {delivering * us:.0f} us ({split}); collect and "
                f"render before it: {sends.cpu_preparing:.1f} s; the whole command: {sends.cpu_total:.1f} s of CPU"
            )
            for label, peak in (("while delivering", sends.peak_delivering), ("whole command", sends.peak)):
                mb = {k: v / 1024 for k, v in peak.items()}
                workers = (
                    f"; a worker's RSS at most {mb['worker_rss']:.0f} MB, of it private "
                    f"{mb['worker_private']:.0f} MB"
                    if mb["worker_rss"]
                    else ""
                )
                print(
                    f"peak memory {label}: the send process's RSS {mb['parent_rss']:.0f} MB{workers}; all its "
                    f"processes: PSS {mb['sum_pss']:.0f} MB (a plain sum of RSS, counting shared pages once "
                    f"per process: {mb['sum_rss']:.0f} MB)"
                )
            if args.no_source:
                return None
            sessions = args.connections * args.senders
            source_seconds = run_source(port, message, args.subscribers, sessions, folder)
            theirs = args.subscribers / source_seconds
            print(f"smtp-source -d -s {sessions}: {theirs:,.0f} messages/s ({source_seconds:.1f} s)")
            print(f"ratio newsletter / smtp-source: {ours / theirs:.2f} (target: at least 0.9)")
            return ours / theirs
        finally:
            sink.terminate()
            sink.wait()


if __name__ == "__main__":
    main()
