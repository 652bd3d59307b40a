"""One SMTP connection, reused for many messages.

``open`` connects (implicit TLS, STARTTLS or plain), says EHLO and logs in; a refusal there is a
DeliveryError, because nothing can be sent. ``send`` runs one mail transaction and classifies the
answer: 2xx sent, 4xx and dropped connections deferred, 5xx failed. After a refused sender or
recipient the transaction is reset (RSET) and the connection reused; after a 421, a timeout or a
drop it is closed and the next ``send`` reconnects.

smtplib opens the connection (EHLO, STARTTLS, AUTH: once per connection); each message then goes
over the socket directly. When the server offers PIPELINING, MAIL, RCPT and DATA go out in one
write (one round trip instead of three), and the replies are parsed from one read. The socket is
blocking with the kernel's send and receive timeouts (SO_SNDTIMEO, SO_RCVTIMEO): a Python socket
timeout costs a poll() before every send and receive, and smtplib reads replies line by line
through a file object. With PIPELINING a message costs four system calls (write, read, sendmsg,
read) where smtplib made eight; the workers' SMTP I/O measured 52 us of CPU a message before this.

A ``Composed`` message (compose.py: no line starts with ".") is written as its pieces with one
``sendmsg``, without a join or a dot-stuffing scan (a regular expression over the whole 66 KB
measured 20 us a message); over TLS, which has no sendmsg, the pieces are joined. Any other bytes
are dot-stuffed here, with a bytes replace rather than smtplib's two regular expressions.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import select
import smtplib
import socket
import ssl
import struct

from newsletter.compose import Composed
from newsletter.errors import DeliveryError
from newsletter.models import DeliveryResult, DeliveryState

_LOCAL_NAMES = {"localhost", "localhost.localdomain"}
_DOT_LINE = re.compile(rb"\n\.")
_MAX_LINE = 8192  # as smtplib: a longer reply line is a broken server
_END_OF_DATA = b".\r\n"
_IOV_MAX = os.sysconf("SC_IOV_MAX") if "SC_IOV_MAX" in os.sysconf_names else 1024  # buffers per sendmsg


class _Timeout(Exception):
    """The kernel's send or receive timeout ran out (EAGAIN on a blocking socket)."""


def is_loopback(host: str) -> bool:
    if host.lower() in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def tls_context(verify: bool = True, ca_file: str = "") -> ssl.SSLContext:
    """Certificates checked against the system's CAs, or ``ca_file``; ``verify=False`` only for tests."""
    context = ssl.create_default_context(cafile=ca_file or None)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class SmtpTransport:
    """One SMTP connection, reused for many messages; reconnects after a drop."""

    def __init__(
        self,
        host: str,
        port: int,
        security: str = "starttls",
        username: str = "",
        password: str = "",
        timeout: float = 30.0,
        password_env: str = "",
        *,
        tls_verify: bool = True,
        tls_ca_file: str = "",
        helo: str = "",
    ) -> None:
        self.host, self.port, self.security = host, port, security
        self.username, self.password, self.timeout = username, password, timeout
        self.password_env = password_env
        self.tls_verify, self.tls_ca_file = tls_verify, tls_ca_file
        self.helo = helo or socket.gethostname() or "localhost"
        self._smtp: smtplib.SMTP | None = None
        self._sock: socket.socket | None = None
        self._buffer = b""  # received bytes not yet parsed into replies
        self._pipelining = False
        self._size = False
        self._utf8 = False
        # the transaction ``begin`` started: replies awaited (3, 1, or 0: none in flight), the
        # bytes the socket has not taken yet, the data to write after the 354
        self._nonblocking = False
        self._stage = 0
        self._out: list[bytes | memoryview] = []
        self._data: bytes | Composed = b""

    # --- the connection ---------------------------------------------------------------------

    def open(self) -> None:
        if self._smtp is not None:
            return
        where = f"{self.host}:{self.port}"
        if self.username and self.security == "none" and not is_loopback(self.host):
            raise DeliveryError(
                f"refusing to send the password for {self.username} unencrypted to {where}",
                hint='set [delivery] security = "starttls" (port 587) or "tls" (port 465)',
            )
        if self.username and not self.password:
            raise DeliveryError(
                f"[delivery] username is {self.username} but ${self.password_env} is empty: no password to log in with",
                hint=f"export {self.password_env}=... in the environment of every command that sends",
            )
        if self.tls_ca_file and not os.path.isfile(self.tls_ca_file):
            raise DeliveryError(
                f"[delivery] tls_ca_file: {self.tls_ca_file} does not exist",
                hint="give the PEM file of the CAs that signed the server's certificate, or empty for the system's",
            )
        try:
            smtp = self._connect()
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(
                f"SMTP server {where} refused the login for {self.username}: "
                f"{exc.smtp_code} {_text(exc.smtp_error)}",
                hint=f"check [delivery] username and the password in ${self.password_env}",
            ) from exc
        except ssl.SSLError as exc:
            if self.security == "tls" and exc.reason in (
                "WRONG_VERSION_NUMBER",
                "RECORD_LAYER_FAILURE",
                "UNKNOWN_PROTOCOL",
            ):
                raise DeliveryError(
                    f'SMTP server {where} does not speak TLS from the first byte (security = "tls"): '
                    "it is a plain or STARTTLS port",
                    hint='for port 587 set [delivery] security = "starttls"; "tls" is for port 465',
                ) from exc
            if isinstance(exc, ssl.SSLCertVerificationError):
                raise DeliveryError(
                    f"SMTP server {where}: its TLS certificate is not trusted: {exc.verify_message}",
                    hint="check [delivery] host; for a private CA set [delivery] tls_ca_file",
                ) from exc
            raise DeliveryError(
                f"TLS with the SMTP server {where} failed: {exc.reason or exc}",
                hint='check [delivery] security and port ("tls" for 465, "starttls" for 587)',
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryError(
                f"SMTP server {where} does not support {'AUTH' if 'AUTH' in str(exc) else 'STARTTLS'}: {exc}",
                hint='set [delivery] security = "tls" for port 465, or "none" only for localhost',
            ) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(
                f"cannot connect to the SMTP server {where}: {exc or exc.__class__.__name__}",
                hint="check [delivery] host, port and security, and that the server is up",
            ) from exc
        self._smtp = smtp
        assert smtp.sock is not None
        self._sock = _blocking(smtp.sock, self.timeout)
        self._buffer = b""
        self._pipelining = smtp.has_extn("pipelining")
        self._size = smtp.has_extn("size")
        self._utf8 = smtp.has_extn("smtputf8")

    def _connect(self) -> smtplib.SMTP:
        smtp: smtplib.SMTP
        if self.security == "tls":
            smtp = smtplib.SMTP_SSL(
                self.host,
                self.port,
                local_hostname=self.helo,
                timeout=self.timeout,
                context=tls_context(self.tls_verify, self.tls_ca_file),
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, local_hostname=self.helo, timeout=self.timeout)
        try:
            smtp.ehlo()
            if self.security == "starttls":
                smtp.starttls(context=tls_context(self.tls_verify, self.tls_ca_file))
                smtp.ehlo()
            if self.username:
                smtp.login(self.username, self.password)
        except BaseException:
            with contextlib.suppress(OSError):
                smtp.close()
            raise
        return smtp

    def close(self) -> None:
        if self._stage:  # a transaction in flight: nothing to say goodbye in
            self._drop()
        if self._sock is not None:
            self._blocking()
            with contextlib.suppress(OSError, _Timeout, ValueError):
                self._command(b"QUIT\r\n")
        self._drop()

    def _drop(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(OSError):
                self._smtp.close()
        self._smtp, self._sock, self._buffer = None, None, b""
        self._nonblocking, self._stage, self._out, self._data = False, 0, [], b""

    def _connected(self) -> DeliveryResult | None:
        """Open the connection when there is none, or when the server hung up on (or spoke on) the
        idle one, its idle timeout: a transaction there would only fail. None when it is ready."""
        if self._sock is not None and select.select([self._sock], [], [], 0)[0]:
            self._drop()
        if self._sock is None:
            try:
                self.open()
            except DeliveryError as exc:
                return DeliveryResult(DeliveryState.DEFERRED, 0, exc.message)
        return None

    def _reset(self) -> None:
        try:
            self._command(b"RSET\r\n")
        except (OSError, _Timeout, ValueError):
            self._drop()

    # --- the wire, once the connection is open -----------------------------------------------

    def _write(self, data: bytes) -> None:
        assert self._sock is not None
        try:
            self._sock.sendall(data)
        except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
            raise _Timeout from None

    def _write_parts(self, parts: list[bytes | memoryview]) -> None:
        """The buffers in order: one sendmsg (a blocking socket takes them all unless its timeout
        runs out, then the rest), or a join over TLS."""
        sock = self._sock
        assert sock is not None
        if isinstance(sock, ssl.SSLSocket):
            self._write(b"".join(parts))
            return
        try:
            sent = sock.sendmsg(parts[:_IOV_MAX])  # more buffers than that: EMSGSIZE
            total = sum(map(len, parts))
            while sent < total:  # a partial write: what is left, from where it stopped
                parts, total = unsent(parts, sent), total - sent
                sent = sock.sendmsg(parts[:_IOV_MAX])
        except BlockingIOError:
            raise _Timeout from None

    def _replies(self, count: int) -> list[tuple[int, bytes]]:
        """``count`` replies, as (code, text with the lines joined by newlines); a malformed code is -1.

        ValueError: a line over 8 KB; ConnectionError: the server closed the connection."""
        sock = self._sock
        assert sock is not None
        replies: list[tuple[int, bytes]] = []
        while True:
            got, used = _parse(self._buffer, count - len(replies))
            replies += got
            self._buffer = self._buffer[used:]
            if len(replies) == count:
                return replies
            try:
                chunk = sock.recv(65536)
            except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                raise _Timeout from None
            if not chunk:
                raise ConnectionResetError("the server closed the connection")
            self._buffer += chunk

    def _command(self, line: bytes) -> tuple[int, bytes]:
        self._write(line)
        return self._replies(1)[0]

    # --- one message ----------------------------------------------------------------------

    def send(self, sender: str, recipient: str, data: bytes | Composed) -> DeliveryResult:
        refused = self._connected()
        if refused is not None:
            return refused
        self._blocking()
        try:
            return self._transaction(sender, recipient, data)
        except (ValueError, _Timeout, TimeoutError, OSError) as exc:
            return self._lost(exc)

    def _lost(self, exc: BaseException) -> DeliveryResult:
        """The verdict when the transaction broke off with ``exc``; the connection is dropped."""
        self._drop()
        if isinstance(exc, ValueError):  # a malformed reply
            return _classify(-1, str(exc))
        if isinstance(exc, (_Timeout, TimeoutError)):
            return self.timed_out()
        # resets, a closed connection, TLS errors
        return DeliveryResult(DeliveryState.DEFERRED, 0, f"connection lost: {exc or exc.__class__.__name__}")

    def timed_out(self) -> DeliveryResult:
        """The verdict when the server did not answer in time; the connection is dropped."""
        self._drop()
        return DeliveryResult(
            DeliveryState.DEFERRED, 0, f"no answer from the server within {self.timeout:g} s"
        )

    def _transaction(self, sender: str, recipient: str, data: bytes | Composed) -> DeliveryResult:
        commands = self._commands(sender, recipient, data)
        if isinstance(commands, DeliveryResult):
            return commands
        replies: list[tuple[int, bytes]] = []
        if self._pipelining:
            self._write("".join(commands).encode())
            replies = self._replies(3)
        else:
            for command, expected in zip(commands, (250, 250, 354), strict=True):
                replies.append(self._command(command.encode()))
                if replies[-1][0] not in (expected, 251):
                    break
        refused = self._refused(replies)
        if refused is not None:
            return refused
        if isinstance(data, Composed):
            self._write_parts([*data.parts, _END_OF_DATA])
        else:
            self._write(_stuffed(data))
        return self._accepted(*self._replies(1)[0])

    def _commands(self, sender: str, recipient: str, data: bytes | Composed) -> list[str] | DeliveryResult:
        options = f" SIZE={len(data)}" if self._size else ""
        if not (sender + recipient).isascii():
            if not self._utf8:
                return DeliveryResult(
                    DeliveryState.FAILED, 553, "the address is not ASCII and the server lacks SMTPUTF8"
                )
            options += " SMTPUTF8"
        return [f"MAIL FROM:<{sender}>{options}\r\n", f"RCPT TO:<{recipient}>\r\n", "DATA\r\n"]

    def _refused(self, replies: list[tuple[int, bytes]]) -> DeliveryResult | None:
        """The verdict when the replies to MAIL, RCPT and DATA refuse the transaction (the
        connection then reset, or dropped after a 421); None when the data may go."""
        refusal = _refusal(replies)
        if refusal is None:
            return None
        if len(replies) == 3 and replies[2][0] == 354:
            # the server wants data we will not send: an empty message, then RSET
            self._command(_END_OF_DATA)
        self._drop() if refusal[0] == 421 else self._reset()
        return _classify(*refusal)

    def _accepted(self, code: int, reply: bytes) -> DeliveryResult:
        """The verdict on the reply to the data."""
        if code == 421:
            self._drop()
        return _classify(code, reply)

    # --- one message, driven by an event loop (deliver/workers.py) ------------------------------

    @property
    def evented(self) -> bool:
        """Whether ``begin`` and ``resume`` run a transaction without blocking: plain connections.
        Over TLS they fall back to ``send`` (SSL sockets need their own non-blocking dance)."""
        return self.security == "none"

    def begin(self, sender: str, recipient: str, data: bytes | Composed) -> DeliveryResult | socket.socket:
        """Start a transaction: its verdict when it is already decided (refused, no connection, or
        sent the blocking way: over TLS, or without PIPELINING), else the non-blocking socket
        whose readiness to pass to ``resume`` (to write too while ``writing``).

        MAIL, RCPT and DATA go in one write; after their three replies, the data in one sendmsg
        (or what of it the socket takes, the rest when it is writable); then the last reply.
        Opening a connection blocks."""
        refused = self._connected()
        if refused is not None:
            return refused
        sock = self._sock
        assert sock is not None
        if isinstance(sock, ssl.SSLSocket) or not self._pipelining:
            return self.send(sender, recipient, data)
        commands = self._commands(sender, recipient, data)
        if isinstance(commands, DeliveryResult):
            return commands
        if not self._nonblocking:
            sock.setblocking(False)
            self._nonblocking = True
        self._data = data
        self._stage = 3  # replies awaited: MAIL, RCPT, DATA
        self._out = ["".join(commands).encode()]
        try:
            self._flush()
        except OSError as exc:
            self._stage = 0
            return self._lost(exc)
        return sock

    @property
    def writing(self) -> bool:
        """Whether the transaction has bytes the socket did not take yet."""
        return bool(self._out)

    def resume(self) -> DeliveryResult | None:
        """Go on with the transaction ``begin`` started, its socket being ready: its verdict, or
        None while it waits for the server."""
        try:
            if self._out and not self._flush():
                return None
            replies, used = _parse(self._buffer, self._stage)
            if len(replies) < self._stage:
                try:
                    chunk = self._sock.recv(65536)  # type: ignore[union-attr]
                except BlockingIOError:
                    return None
                if not chunk:
                    raise ConnectionResetError("the server closed the connection")
                self._buffer += chunk
                replies, used = _parse(self._buffer, self._stage)
                if len(replies) < self._stage:
                    return None
            self._buffer = self._buffer[used:]
            if self._stage == 3:
                if _refusal(replies) is not None:  # rare: the blocking way, as send does it
                    self._stage = 0
                    self._blocking()
                    return self._refused(replies)
                data, self._data = self._data, b""
                self._stage = 1
                self._out = [*data.parts, _END_OF_DATA] if isinstance(data, Composed) else [_stuffed(data)]
                self._flush()
                return None
            self._stage = 0
            return self._accepted(*replies[0])
        except (ValueError, _Timeout, TimeoutError, OSError) as exc:
            self._stage = 0
            return self._lost(exc)

    def _flush(self) -> bool:
        """Write what is pending of the transaction without blocking; whether all of it went."""
        sock = self._sock
        assert sock is not None
        parts = self._out
        try:
            sent = sock.sendmsg(parts[:_IOV_MAX])  # more buffers than that: EMSGSIZE
        except BlockingIOError:
            return False
        total = sum(map(len, parts))
        self._out = unsent(parts, sent) if sent < total else []
        return not self._out

    def _blocking(self) -> None:
        """The socket back to blocking (with the kernel's timeouts), for the rare exchanges."""
        if self._nonblocking and self._sock is not None:
            self._sock.setblocking(True)
        self._nonblocking = False

    def cancel(self) -> None:
        """Give up the transaction in flight and its connection (the worker is told to stop)."""
        self._stage, self._out, self._data = 0, [], b""
        self._drop()

    def __repr__(self) -> str:
        return f"SmtpTransport({self.host}:{self.port}, {self.security})"


def _parse(buffer: bytes, count: int) -> tuple[list[tuple[int, bytes]], int]:
    """Up to ``count`` complete replies at the start of ``buffer`` (code, lines joined by newlines;
    a malformed code is -1) and how many bytes they took. ValueError: a line over 8 KB."""
    replies: list[tuple[int, bytes]] = []
    start = used = 0
    lines: list[bytes] = []
    while len(replies) < count:
        end = buffer.find(b"\r\n", start)
        if end < 0:
            if len(buffer) - start > _MAX_LINE:
                raise ValueError("a reply line over 8 KB")
            break
        line, start = buffer[start:end], end + 2
        lines.append(line[4:].strip())
        if line[3:4] != b"-":  # the last line of the reply
            replies.append((int(line[:3]) if line[:3].isdigit() else -1, b"\n".join(lines)))
            lines, used = [], start
    return replies, used


def _refusal(replies: list[tuple[int, bytes]]) -> tuple[int, bytes] | None:
    """The first reply that refuses the transaction (MAIL, RCPT, then DATA), or None."""
    for (code, reply), accepted in zip(replies, ((250,), (250, 251), (354,)), strict=False):
        if code not in accepted:
            return code, reply
    return None


def unsent(parts: list[bytes | memoryview], sent: int) -> list[bytes | memoryview]:
    """The buffers left to write after the first ``sent`` bytes of ``parts`` went out."""
    rest: list[bytes | memoryview] = []
    for part in parts:
        if sent >= len(part):
            sent -= len(part)
            continue
        rest.append(memoryview(part)[sent:] if sent else part)
        sent = 0
    return rest


def _blocking(sock: socket.socket, timeout: float) -> socket.socket:
    """``sock`` made blocking, with the kernel's send and receive timeouts of ``timeout`` seconds."""
    sock.settimeout(None)
    seconds = max(timeout, 0.001)
    timeval = struct.pack("@ll", int(seconds), int(seconds % 1 * 1_000_000))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)
    return sock


def _stuffed(data: bytes) -> bytes:
    """Bytes from anywhere as DATA carries them: a leading dot doubled on every line, CRLF.CRLF at the end."""
    if _DOT_LINE.search(data):
        data = data.replace(b"\r\n.", b"\r\n..")
    if data.startswith(b"."):
        data = b"." + data
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _classify(code: int, reply: bytes | str) -> DeliveryResult:
    text = " ".join(_text(reply).split())
    if 200 <= code < 300:
        return DeliveryResult(DeliveryState.SENT, code, text)
    if 400 <= code < 500 or code <= 0:
        return DeliveryResult(DeliveryState.DEFERRED, code, text)
    return DeliveryResult(DeliveryState.FAILED, code, text)
