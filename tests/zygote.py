"""`python -m newsletter` processes for the tests, without paying for an interpreter start each time.

A command that must run in a process of its own (a send over SMTP, which forks its workers; the
daemon and ``serve``; anything a test signals or kills) costs about a second of CPU before it does
anything: the interpreter imports SQLAlchemy, pydantic, the renderer and the rest. The suite starts
hundreds of them, and on a two-core machine that import time was most of its length.

A zygote is one interpreter that has imported every module of the package (and nothing else has
happened in it: no thread, no database, no open file but its socket). Each command is a fork of it:
a real process with its own pid, its own standard streams, working directory and environment,
that runs ``python -m newsletter``'s ``__main__`` as the interpreter would (``runpy``), exits with
the code the interpreter would give, and can be signalled, killed with SIGKILL or be the leader of
its own session. ``Process`` is the test's handle on it, shaped like ``subprocess.Popen`` (pid,
stdout/stderr pipes, poll, wait, communicate, send_signal); the zygote reaps the process and sends
its exit status back over the socket the request came on.

What a fresh interpreter decides at start cannot change between forks: the zygote is made for the
environment variables read at import or start (``IMPORT_TIME_ENV``, every PYTHON* one), one zygote
per distinct set of their values. Tests of the start itself (``--help``'s imports, the wheel) start
real interpreters, and NEWSLETTER_TEST_FRESH_INTERPRETERS=1 makes every command do so.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from typing import IO, Any, Union

FRESH_ENV = "NEWSLETTER_TEST_FRESH_INTERPRETERS"
# Read when a module is imported (rich's consoles in newsletter.cli.common take COLUMNS and NO_COLOR
# when they are made; the time zone and locale at start), so fixed for a zygote's life.
IMPORT_TIME_ENV = (
    "COLUMNS",
    "NO_COLOR",
    "FORCE_COLOR",
    "TERM",
    "TTY_COMPATIBLE",
    "TZ",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
)

PIPE, DEVNULL, STDOUT = subprocess.PIPE, subprocess.DEVNULL, subprocess.STDOUT


def fingerprint(env: Mapping[str, str]) -> tuple[tuple[str, str | None], ...]:
    keys = sorted({*IMPORT_TIME_ENV, *(k for k in env if k.startswith("PYTHON"))})
    return tuple((k, env.get(k)) for k in keys)


class Zygote:
    """One preloaded interpreter (a child of the test process) and the socket it forks on."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.fingerprint = fingerprint(env)
        self._folder = tempfile.mkdtemp(prefix="zygote-")
        self.path = os.path.join(self._folder, "socket")
        self.proc = subprocess.Popen(
            [sys.executable, __file__, self.path],
            env=dict(env),
            stdin=subprocess.PIPE,  # its end of life: the zygote leaves when this closes
            stdout=subprocess.PIPE,
            cwd=self._folder,
        )
        assert self.proc.stdout is not None
        ready = self.proc.stdout.readline()
        if ready.strip() != b"ready":
            raise RuntimeError(f"the zygote did not start: {ready!r}")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            assert self.proc.stdin is not None
            self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        with contextlib.suppress(OSError):
            os.unlink(self.path)
            os.rmdir(self._folder)


_zygotes: dict[tuple[tuple[str, str | None], ...], Zygote] = {}
_lock = threading.Lock()


def zygote_for(env: Mapping[str, str]) -> Zygote | None:
    """The zygote for this environment (made at first use), or None when fresh interpreters are asked for."""
    if os.environ.get(FRESH_ENV) == "1":
        return None
    key = fingerprint(env)
    with _lock:
        if key not in _zygotes:
            _zygotes[key] = Zygote({**env, FRESH_ENV: ""})
        return _zygotes[key]


def close_all() -> None:
    with _lock:
        for zygote in _zygotes.values():
            zygote.close()
        _zygotes.clear()


AnyProcess = Union["Process", "subprocess.Popen[Any]"]


def newsletter_process(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    stdin: Any = DEVNULL,
    stdout: Any = None,
    stderr: Any = None,
    text: bool = False,
    start_new_session: bool = False,
) -> AnyProcess:
    """`python -m newsletter ARGS` in a process of its own, as ``subprocess.Popen`` would start it."""
    full_env = dict(os.environ if env is None else env)
    zygote = zygote_for(full_env)
    if zygote is None:
        return subprocess.Popen(
            [sys.executable, "-m", "newsletter", *args],
            env=full_env,
            cwd=cwd,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            text=text,
            start_new_session=start_new_session,
        )
    return Process(zygote, args, full_env, cwd, stdin, stdout, stderr, text, start_new_session)


class Process:
    """A forked `python -m newsletter`: the parts of ``subprocess.Popen`` the tests use."""

    def __init__(
        self,
        zygote: Zygote,
        args: Sequence[str],
        env: Mapping[str, str],
        cwd: str | os.PathLike[str] | None,
        stdin: Any,
        stdout: Any,
        stderr: Any,
        text: bool,
        start_new_session: bool,
    ) -> None:
        self.args = ["newsletter", *args]
        self.returncode: int | None = None
        self.stdout: IO[Any] | None = None
        self.stderr: IO[Any] | None = None
        self.stdin: IO[Any] | None = None
        theirs: list[int] = []  # descriptors to give the child, closed here once it has them
        ours: list[tuple[str, int]] = []

        def descriptor(spec: Any, name: str, mode: str) -> int:
            if spec is None:  # inherited, as Popen does: this process's own stream
                return {"stdin": 0, "stdout": 1, "stderr": 2}[name]
            if spec == DEVNULL:
                fd = os.open(os.devnull, os.O_RDWR)
                theirs.append(fd)
                return fd
            if spec == PIPE:
                read, write = os.pipe()
                if mode == "r":
                    theirs.append(read)
                    ours.append((name, write))
                    return read
                theirs.append(write)
                ours.append((name, read))
                return write
            if isinstance(spec, int):
                return spec
            return int(spec.fileno())

        fds = [descriptor(stdin, "stdin", "r"), descriptor(stdout, "stdout", "w")]
        fds.append(fds[1] if stderr == STDOUT else descriptor(stderr, "stderr", "w"))
        request = {
            "args": list(args),
            "env": dict(env),
            "cwd": os.fspath(cwd) if cwd is not None else os.getcwd(),
            "session": start_new_session,
        }
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._sock.connect(zygote.path)
            socket.send_fds(self._sock, [json.dumps(request).encode() + b"\n"], fds)
        finally:
            for fd in theirs:
                os.close(fd)
        self._reply = self._sock.makefile("rb")
        self.pid = int(self._reply.readline())
        for name, fd in ours:
            if name == "stdin":
                self.stdin = open(fd, "w" if text else "wb")  # noqa: SIM115 (closed by the caller)
            else:
                raw = open(fd, "rb")  # noqa: SIM115
                setattr(self, name, io.TextIOWrapper(raw, encoding="utf-8") if text else raw)

    def poll(self) -> int | None:
        if self.returncode is None and select.select([self._sock], [], [], 0)[0]:
            self._read_status()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            if not select.select([self._sock], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
            self._read_status()
        assert self.returncode is not None
        return self.returncode

    def _read_status(self) -> None:
        line = self._reply.readline()
        self.returncode = int(line) if line.strip() else -signal.SIGKILL  # the zygote died with it
        self._reply.close()
        self._sock.close()

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def communicate(self, input: Any = None, timeout: float | None = None) -> tuple[Any, Any]:
        """Both outputs read to their end (by threads, so neither pipe can fill and block the other)."""
        results: dict[str, Any] = {}

        def read(name: str, stream: IO[Any]) -> None:
            results[name] = stream.read()
            stream.close()

        readers = [
            threading.Thread(target=read, args=(name, stream), daemon=True)
            for name, stream in (("stdout", self.stdout), ("stderr", self.stderr))
            if stream is not None
        ]
        for reader in readers:
            reader.start()
        if self.stdin is not None:
            if input:
                self.stdin.write(input)
            self.stdin.close()
        deadline = None if timeout is None else time.monotonic() + timeout
        for reader in readers:
            reader.join(None if deadline is None else max(0, deadline - time.monotonic()))
            if reader.is_alive():
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
        self.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return results.get("stdout"), results.get("stderr")


def run(
    args: Sequence[str], *, env: Mapping[str, str], cwd: str | os.PathLike[str] | None, timeout: float
) -> subprocess.CompletedProcess[str]:
    """`subprocess.run([python, -m, newsletter, *args], capture_output=True, text=True)` by a fork."""
    process = newsletter_process(args, env=env, cwd=cwd, stdout=PIPE, stderr=PIPE, text=True)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise
    return subprocess.CompletedProcess(["newsletter", *args], process.wait(), out, err)


# --- the zygote's side ----------------------------------------------------------------------------


def _preload() -> None:
    """Import every module of the package and the drivers it loads on first use."""
    import importlib
    import pkgutil

    import newsletter

    for module in pkgutil.walk_packages(newsletter.__path__, "newsletter."):
        if module.name != "newsletter.__main__":
            importlib.import_module(module.name)
    for name in ("sqlalchemy.dialects.sqlite.pysqlite", "sqlalchemy.dialects.postgresql.psycopg", "psycopg"):
        importlib.import_module(name)


def _serve(path: str) -> None:
    import gc

    _preload()
    gc.collect()
    gc.freeze()  # the preloaded objects' pages stay shared with the forks
    if threading.active_count() != 1:
        raise SystemExit(f"the zygote has threads after its imports: {threading.enumerate()}")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    children: dict[int, socket.socket] = {}
    sys.stdout.buffer.write(b"ready\n")
    sys.stdout.flush()
    while True:
        readable, _, _ = select.select([listener, wake_read, sys.stdin], [], [])
        if sys.stdin in readable and not os.read(sys.stdin.fileno(), 1):
            for pid in children:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            return
        if wake_read in readable:
            os.read(wake_read, 512)
            _reap(children)
        if listener in readable:
            conn, _ = listener.accept()
            data, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
            while not data.endswith(b"\n"):
                data += conn.recv(1 << 20)
            pid = os.fork()
            if pid == 0:
                os.close(wake_read)
                os.close(wake_write)
                listener.close()
                for other in children.values():
                    other.close()
                _child(conn, json.loads(data), fds)  # never returns
            for fd in fds:
                os.close(fd)
            conn.sendall(f"{pid}\n".encode())
            children[pid] = conn
            _reap(children)


def _reap(children: dict[int, socket.socket]) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn = children.pop(pid, None)
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
            conn.close()


def _child(conn: socket.socket, request: dict[str, Any], fds: list[int]) -> None:
    """Become `python -m newsletter ARGS`: the streams, folder and environment asked for, then
    ``__main__`` run as the interpreter runs it, and its exit as the interpreter would make it."""
    import runpy
    import traceback

    code = 1
    try:
        conn.close()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        if request["session"]:
            os.setsid()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        for fd in set(fds):
            if fd > 2:
                os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.path[0] = request["cwd"]  # what -m puts first
        sys.argv = ["newsletter", *request["args"]]
        try:
            runpy.run_module("newsletter", run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as exc:
            if exc.code is None:
                code = 0
            elif isinstance(exc.code, int):
                code = exc.code
            else:
                print(exc.code, file=sys.stderr)
                code = 1
        except KeyboardInterrupt:
            traceback.print_exc()
            sys.stderr.flush()
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGINT)
        except BaseException:
            traceback.print_exc()
            code = 1
        threading._shutdown()  # type: ignore[attr-defined]  # as the interpreter does at exit: join threads
        import atexit

        atexit._run_exitfuncs()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    sys.path[0] = os.getcwd()  # not this file's folder: what `python -m` puts first
    _serve(sys.argv[1])
