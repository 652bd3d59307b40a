"""A real, throwaway Dovecot IMAP server on 127.0.0.1 for the tests (the bounce mailbox).

``imap_server(tmp_path)`` writes a complete dovecot.conf under ``tmp_path / "dovecot"`` (the system's
/etc/dovecot is never read), starts ``dovecot -F -c <conf>`` and yields an :class:`ImapServer` once a
TLS login works; on exit it stops the server and every process it started. Each call has its own
free ports, folders, certificate and password, so servers never collide. In a test module,
``from imapd import imap  # noqa: F401`` makes the fixture ``imap`` available (ruff also wants
``# noqa: F811`` on each test taking ``imap``: tests/test_imapd.py shows both).

The server:

- two listeners on 127.0.0.1: ``port_tls`` speaks TLS from the first byte (IMAPS, port 993 style),
  ``port_plain`` is plain IMAP offering STARTTLS. Dovecot counts a connection from 127.0.0.1 to
  127.0.0.1 as secure whatever ``ssl = required`` says, so the plain port also takes LOGIN
  without STARTTLS (no LOGINDISABLED). To check that a client used TLS, read ``server.logins()``:
  Dovecot logs ``TLS`` in a login's line for IMAPS and STARTTLS, ``secured`` for plain text.
- a self-signed certificate for ``localhost`` and ``127.0.0.1``, made for this server, no CA
  behind it: verify with ``ssl.create_default_context(cafile=server.ca_file)``.
- one user, ``bounces``, with a random password (a passwd-file). A failed login answers within
  half a second: the auth failure delay (2 s) and the per-IP penalty are off, but Dovecot still
  answers its failures on a timer.
- mail as Maildir++ under ``server.maildir``: INBOX is the root (cur/new/tmp), a folder ``Processed``
  is ``.Processed``, ``Sub/Child`` is ``.Sub.Child``. Dovecot stores lines ending in LF and sends
  CRLF, as IMAP wants: a message with CRLF line ends reads back byte for byte, one with bare LF
  reads back with CRLF.

Folder names. One namespace, prefix "", ``inbox = yes``, separator ``/`` (the default; pass
``separator="."`` for a Courier-style server):

- ``INBOX`` (any case) is the inbox; ``Processed`` is a folder beside it; ``INBOX/Processed`` is a
  child of INBOX; ``Bounces/2024`` is a child of ``Bounces``.
- A name containing ``.`` (``INBOX.Processed``) is refused with ``NO [CANNOT] Character not allowed
  in mailbox name: '.'``, since ``.`` is the Maildir++ separator on disk.
- With ``separator="."``, ``INBOX.Processed`` is a child of INBOX and ``/`` is an ordinary character.
- Folders exist only once created: APPEND or MOVE to a missing one answers ``NO [TRYCREATE]``.
  The helpers ``append`` and ``move`` create it first.

Running as root (as in CI). Dovecot never opens mail as root ("Mail access not allowed for root",
whatever first_valid_uid says), and its login processes refuse root too. So Dovecot's own services
run as root, the login processes as ``dovenull``, and mail as the system user ``mail`` (or
``nobody``). That user cannot get through pytest's /tmp/pytest-of-root (mode 0700), so each IMAP
session is chrooted into the mail folder first, while still root. Files put in the Maildir by
hand must be owned by ``server.mail_uid`` so that Dovecot can change them. As any other user,
everything runs as that user, with no chroot.
"""

from __future__ import annotations

import datetime
import grp
import imaplib
import ipaddress
import os
import pwd
import re
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REQUIRE_POSTGRES_ENV, free_port
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

USER = "bounces"
START_TIMEOUT = 15.0  # seconds until the first TLS login must work
STOP_TIMEOUT = 10.0
SOCKET_PATH_MAX = 107  # sun_path is 108 bytes with the final NUL
LONGEST_SOCKET = "token-login/tokenlogin"  # the longest name Dovecot creates in base_dir, with room


@dataclass
class ImapServer:
    host: str
    port_tls: int  # TLS from the first byte (IMAPS)
    port_plain: int  # plain IMAP, STARTTLS offered
    user: str
    password: str
    ca_file: Path  # the server's self-signed certificate (PEM): the only thing to trust
    maildir: Path  # the user's Maildir++ root (INBOX); folders are .Name beside cur/new/tmp
    separator: str  # the hierarchy separator of folder names ("/" unless asked otherwise)
    mail_uid: int  # the owner of the user's mail files
    log: Path  # Dovecot's log
    pid: int = 0  # Dovecot's supervisor (see SUPERVISOR): its process group holds all of Dovecot

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts this server's certificate only, and checks the host name."""
        return ssl.create_default_context(cafile=str(self.ca_file))

    @contextmanager
    def connect(self) -> Iterator[imaplib.IMAP4_SSL]:
        """A logged-in session over TLS (the certificate verified); logs out at the end."""
        client = imaplib.IMAP4_SSL(self.host, self.port_tls, ssl_context=self.ssl_context(), timeout=10)
        try:
            client.login(self.user, self.password)
            yield client
        finally:
            with suppress(imaplib.IMAP4.error, OSError):
                client.logout()

    def append(self, folder: str, raw: bytes) -> None:
        """Add one message, byte for byte, to ``folder`` (created when missing), over TLS."""
        with self.connect() as client:
            _create(client, folder)
            _ok(client.append(_quote(folder), None, None, raw), f"APPEND to {folder}")

    def messages(self, folder: str) -> list[bytes]:
        """Every message of ``folder`` in UID order, raw; read with BODY.PEEK[], so none gets \\Seen.
        A folder that does not exist is an AssertionError."""
        with self.connect() as client:
            return [raw for _uid, raw in _fetch_all(client, folder)]

    def uids(self, folder: str) -> list[int]:
        """The UIDs of the messages in ``folder``, ascending."""
        with self.connect() as client:
            _ok(client.select(_quote(folder), readonly=True), f"EXAMINE {folder}")
            return _search_uids(client)

    def flags(self, folder: str) -> list[set[str]]:
        """The flags of each message of ``folder`` in UID order (``{"\\Seen"}``, ...), without
        ``\\Recent`` (which only says which session saw the message first)."""
        with self.connect() as client:
            _ok(client.select(_quote(folder), readonly=True), f"EXAMINE {folder}")
            uids = _search_uids(client)
            if not uids:
                return []
            typ, data = client.uid("FETCH", ",".join(map(str, uids)), "(FLAGS)")
            _ok((typ, data), f"FETCH FLAGS in {folder}")
            found: dict[int, set[str]] = {}
            for line in data:
                if isinstance(line, bytes) and (m := re.search(rb"UID (\d+).*FLAGS \(([^)]*)\)", line)):
                    found[int(m.group(1))] = set(m.group(2).decode().split()) - {"\\Recent"}
            return [found[uid] for uid in uids]

    def move(self, source: str, uid: int, target: str) -> None:
        """UID MOVE one message from ``source`` to ``target`` (created when missing)."""
        with self.connect() as client:
            _create(client, target)
            _ok(client.select(_quote(source)), f"SELECT {source}")
            _ok(client.uid("MOVE", str(uid), _quote(target)), f"UID MOVE {uid} to {target}")

    def logins(self, at_least: int = 1, timeout: float = 5.0) -> list[str]:
        """Dovecot's log line of each login so far, oldest first, once there are ``at_least`` (the log
        is written a moment after the login). The first is the helper's own check that the server is
        up, and each helper call logs in too. ``", TLS,"`` is in the line of a session over TLS."""
        deadline = time.monotonic() + timeout
        while True:
            lines = [line for line in _read(self.log).splitlines() if "imap-login: Info: Login:" in line]
            if len(lines) >= at_least or time.monotonic() > deadline:
                return lines
            time.sleep(0.02)

    def folders(self) -> list[str]:
        """Every folder's name as the server lists it (``INBOX``, ``Processed``, ...), sorted."""
        with self.connect() as client:
            typ, data = client.list()
            _ok((typ, data), "LIST")
            return sorted(_list_name(line) for line in data if line is not None)


def _ok(response: tuple[str, list], what: str) -> list:
    typ, data = response
    if typ != "OK":
        raise AssertionError(f"IMAP {what}: {typ} {data!r}")
    return data


def _quote(name: str) -> str:
    """A mailbox name as an IMAP quoted string (imaplib sends arguments as they are)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _create(client: imaplib.IMAP4, folder: str) -> None:
    if folder.upper() == "INBOX":
        return
    typ, data = client.create(_quote(folder))
    if typ != "OK" and b"ALREADYEXISTS" not in b" ".join(d for d in data if isinstance(d, bytes)):
        raise AssertionError(f"IMAP CREATE {folder}: {typ} {data!r}")


def _search_uids(client: imaplib.IMAP4) -> list[int]:
    data = _ok(client.uid("SEARCH", "ALL"), "UID SEARCH ALL")
    return sorted(int(uid) for uid in (data[0] or b"").split())


def _fetch_all(client: imaplib.IMAP4, folder: str) -> list[tuple[int, bytes]]:
    _ok(client.select(_quote(folder), readonly=True), f"EXAMINE {folder}")
    uids = _search_uids(client)
    if not uids:
        return []
    data = _ok(client.uid("FETCH", ",".join(map(str, uids)), "(UID BODY.PEEK[])"), f"FETCH in {folder}")
    found: dict[int, bytes] = {}
    for part in data:
        if isinstance(part, tuple) and (m := re.search(rb"UID (\d+)", part[0])):
            found[int(m.group(1))] = part[1]
    return [(uid, found[uid]) for uid in uids]


def _list_name(line: bytes | tuple[bytes, bytes]) -> str:
    if isinstance(line, tuple):  # the name came as a literal
        return line[1].decode()
    m = re.match(rb'\((?P<flags>[^)]*)\) (?P<sep>"(?:[^"\\]|\\.)*"|NIL) (?P<name>.*)$', line)
    if m is None:
        raise AssertionError(f"IMAP LIST: cannot read {line!r}")
    name = m.group("name").decode()
    if name.startswith('"'):
        name = re.sub(r"\\(.)", r"\1", name[1:-1])
    return name


# --- the server --------------------------------------------------------------------------------


def dovecot_binary() -> str | None:
    """The dovecot executable; /usr/sbin is searched too (a non-root PATH often lacks it)."""
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin", "/sbin"])
    return shutil.which("dovecot", path=path)


def _require_dovecot() -> str:
    binary = dovecot_binary()
    if binary is None:
        reason = "dovecot is not installed (Debian: apt-get install dovecot-imapd)"
        if os.environ.get(REQUIRE_POSTGRES_ENV) == "1":
            pytest.fail(f"{reason}; CI needs it: dovecot-imapd must be installed (.ci/run installs it)")
        pytest.skip(reason)
    return binary


def make_certificate(cert_file: Path, key_file: Path) -> None:
    """A self-signed certificate for localhost and 127.0.0.1 (P-256), valid for two days."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.touch(mode=0o600)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )


def _mail_user() -> pwd.struct_passwd:
    """Who owns the mail: this user, or as root a system user that exists (never root: see above)."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid())
    for name in ("mail", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root, Dovecot needs a non-root user for the mail: no 'mail' or 'nobody'")


def _login_user() -> str:
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid()).pw_name
    for name in ("dovenull", "nobody"):
        try:
            return pwd.getpwnam(name).pw_name
        except KeyError:
            continue
    raise RuntimeError("running as root, Dovecot needs a non-root login user: no 'dovenull' or 'nobody'")


def _conf_string(value: str | Path) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(
    folder: Path,
    *,
    base_dir: Path,
    port_tls: int,
    port_plain: int,
    separator: str,
) -> tuple[Path, Path]:
    """dovecot.conf, and the user's empty Maildir, under ``folder``; returns (conf, the user's home)."""
    root = os.geteuid() == 0
    mail_user = _mail_user()
    mail_root = folder / "mail"  # the chroot of the IMAP sessions when root
    home = mail_root / USER
    for path in (mail_root, home, home / "Maildir", *(home / "Maildir" / d for d in ("cur", "new", "tmp"))):
        path.mkdir(mode=0o700)
        if root:
            os.chown(path, mail_user.pw_uid, mail_user.pw_gid)
    if root:
        userdb_home = f"{mail_root}/./{USER}"  # chroot to mail_root, home /bounces inside it
        chroot = f"valid_chroot_dirs = {_conf_string(mail_root)}\n"
        internal_user = "root"
        internal_group = "root"
    else:
        userdb_home = str(home)
        # An unprivileged master cannot chroot its services: none may ask for it.
        chroot = "".join(
            f"service {service} {{\n  chroot =\n}}\n"
            for service in ("anvil", "ipc", "old-stats", "imap-urlauth-login")
        )
        internal_user = mail_user.pw_name
        internal_group = grp.getgrgid(os.getegid()).gr_name
    login_chroot = "" if root else "  chroot =\n"  # root: imap-login chroots to base_dir/login
    conf = folder / "dovecot.conf"
    conf.write_text(
        f"""# A throwaway test server (tests/imapd.py). Nothing here is read from /etc/dovecot.
protocols = imap
listen = 127.0.0.1
instance_name = test-imapd-{port_tls}
base_dir = {_conf_string(base_dir)}
state_dir = {_conf_string(folder / "state")}
log_path = {_conf_string(folder / "dovecot.log")}
info_log_path =
debug_log_path =
auth_verbose = yes

default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {_login_user()}
first_valid_uid = 1
first_valid_gid = 1
{chroot}
ssl = required
disable_plaintext_auth = yes
ssl_cert = <{folder / "cert.pem"}
ssl_key = <{folder / "key.pem"}
ssl_min_protocol = TLSv1.2

auth_mechanisms = plain login
auth_failure_delay = 0
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {folder / "passwd"}
}}
userdb {{
  driver = static
  args = uid={mail_user.pw_uid} gid={mail_user.pw_gid} home={userdb_home}
}}

mail_location = maildir:~/Maildir
mail_fsync = never
namespace inbox {{
  inbox = yes
  prefix =
  separator = {separator}
}}

service imap-login {{
{login_chroot}  inet_listener imap {{
    address = 127.0.0.1
    port = {port_plain}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {port_tls}
    ssl = yes
  }}
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""
    )
    return conf, home


def _base_dir(folder: Path) -> tuple[Path, bool]:
    """Where Dovecot puts its sockets: under ``folder``, unless that path is too long for a Unix
    socket; then a fresh short folder under the system's temporary folder (removed at the end)."""
    inside = folder / "run"
    if len(os.fsencode(inside)) + 1 + len(LONGEST_SOCKET) + 8 <= SOCKET_PATH_MAX:
        inside.mkdir(mode=0o755)
        return inside, False
    short = Path(tempfile.mkdtemp(prefix="imapd-", dir="/tmp" if os.path.isdir("/tmp") else None))
    short.chmod(0o755)
    return short, True


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def _tail(path: Path, lines: int = 30) -> str:
    return "\n".join(_read(path).splitlines()[-lines:]) or "(nothing)"


def _group(pgid: int) -> dict[int, str] | None:
    """The processes of a process group (zombies too) and their titles ("" for a zombie), read
    from /proc; None where there is no /proc."""
    if not os.path.isdir("/proc/self"):
        return None
    found: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()  # state, ppid, pgrp, ...
            if int(fields[2]) != pgid:
                continue
            title = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        found[int(entry)] = "" if fields[0] == "Z" else title.strip()
    return found


# Dovecot runs under this: a child subreaper, so that the processes the master leaves behind when
# killed come back here rather than to init, and are reaped; it exits once none is left, with the
# master's status. A SIGTERM is passed on to the master.
SUPERVISOR = r"""
import ctypes, os, signal, sys
try:
    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER (Linux)
except (AttributeError, OSError):
    pass
master = 0
def forward(signum, frame):
    if master > 0:
        os.kill(master, signum)
signal.signal(signal.SIGTERM, forward)
master = os.fork()
if master == 0:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.execv(sys.argv[1], sys.argv[1:])
status = 0
while True:
    try:
        pid, wait_status = os.wait()
    except ChildProcessError:
        break
    if pid == master:
        master = -1
        status = os.waitstatus_to_exitcode(wait_status)
sys.exit(status if status >= 0 else 128 - status)
"""


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop Dovecot and every process it started, all reaped.

    Dovecot's own way is slow: on SIGTERM its master waits for its log process and then sleeps a
    second (services_monitor_wait_and_kill), and an IMAP session still open lasts until its
    client leaves. So every process but the log process gets SIGTERM too, and once nothing but
    the master and the log process are left, both are killed; the supervisor reaps everything."""
    pgid = process.pid  # the supervisor; its group holds every Dovecot process
    deadline = time.monotonic() + STOP_TIMEOUT
    if process.poll() is None:
        process.terminate()  # passed on to the master
    signalled: set[int] = set()
    while process.poll() is None and time.monotonic() < deadline:
        group = _group(pgid)
        if group is None:
            break  # no /proc: Dovecot's own pace
        live = {pid: title for pid, title in group.items() if pid != pgid and title}
        last = {pid for pid, title in live.items() if " -F -c " in title or title.endswith("/log")}
        if live and set(live) == last:
            for pid in last:
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            break
        for pid in set(live) - last - signalled:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            signalled.add(pid)
        time.sleep(0.01)
    try:
        process.wait(max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        process.wait()


def _wait_ready(server: ImapServer, process: subprocess.Popen[bytes], stderr: Path) -> str | None:
    """None once a TLS login works; else why not ("port in use" when a port was taken meanwhile)."""
    deadline = time.monotonic() + START_TIMEOUT
    error: BaseException | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = _tail(server.log) + "\n" + _tail(stderr)
            if "Address already in use" in log:
                return "port in use"
            return f"dovecot exited with {process.returncode}:\n{log}"
        try:
            with server.connect() as client:
                _ok(client.noop(), "NOOP")
            return None
        except (OSError, imaplib.IMAP4.error, AssertionError) as exc:
            error = exc
            time.sleep(0.05)
    return f"no TLS login within {START_TIMEOUT:.0f}s ({error!r}):\n{_tail(server.log)}\n{_tail(stderr)}"


@contextmanager
def imap_server(tmp_path: Path, *, separator: str = "/") -> Iterator[ImapServer]:
    """A Dovecot IMAP server on 127.0.0.1, its files under ``tmp_path / "dovecot"`` (one more
    server in the same ``tmp_path`` takes ``dovecot-2``, ...); stopped, with all its processes, at the end."""
    binary = _require_dovecot()
    folder = tmp_path / "dovecot"
    n = 1
    while folder.exists():
        n += 1
        folder = tmp_path / f"dovecot-{n}"
    folder.mkdir(parents=True)
    make_certificate(folder / "cert.pem", folder / "key.pem")
    password = secrets.token_urlsafe(12)
    passwd = folder / "passwd"
    passwd.touch(mode=0o600)
    passwd.write_text(f"{USER}:{{PLAIN}}{password}::::::\n")
    base_dir, remove_base_dir = _base_dir(folder)
    (folder / "state").mkdir()
    try:
        for attempt in range(3):  # a free port can be taken before Dovecot binds it
            port_tls, port_plain = free_port(), free_port()
            while port_plain == port_tls:
                port_plain = free_port()
            if attempt:
                for stale in base_dir.iterdir():
                    if stale.is_dir() and not stale.is_symlink():
                        shutil.rmtree(stale)
                    else:
                        stale.unlink()
                shutil.rmtree(folder / "mail")
                for log in ("dovecot.log", "stderr.log"):
                    (folder / log).unlink(missing_ok=True)
            conf, home = write_config(
                folder,
                base_dir=base_dir,
                port_tls=port_tls,
                port_plain=port_plain,
                separator=separator,
            )
            server = ImapServer(
                host="127.0.0.1",
                port_tls=port_tls,
                port_plain=port_plain,
                user=USER,
                password=password,
                ca_file=folder / "cert.pem",
                maildir=home / "Maildir",
                separator=separator,
                mail_uid=home.stat().st_uid,
                log=folder / "dovecot.log",
            )
            stderr = folder / "stderr.log"
            with open(stderr, "ab") as err:
                process = subprocess.Popen(
                    [sys.executable, "-c", SUPERVISOR, binary, "-F", "-c", str(conf)],
                    stdin=subprocess.DEVNULL,
                    stdout=err,
                    stderr=err,
                    start_new_session=True,  # its own process group: every child can be stopped
                )
            server.pid = process.pid
            try:
                problem = _wait_ready(server, process, stderr)
                if problem == "port in use" and attempt < 2:
                    continue
                if problem is not None:
                    raise RuntimeError(f"the test IMAP server did not start: {problem}")
                yield server
                return
            finally:
                _stop(process)
    finally:
        if remove_base_dir:
            shutil.rmtree(base_dir, ignore_errors=True)


@pytest.fixture
def imap(tmp_path: Path) -> Iterator[ImapServer]:
    """A fresh Dovecot IMAP server for one test (``from imapd import imap`` in a test module)."""
    with imap_server(tmp_path) as server:
        yield server
