"""SmtpTransport against aiosmtpd on 127.0.0.1: STARTTLS, implicit TLS with a certificate made for
the test, AUTH, answers classified, RSET after a refused recipient, reconnects, timeouts."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import select
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from conftest import free_port
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from newsletter.compose import Composed
from newsletter.errors import DeliveryError
from newsletter.models import DeliveryResult
from newsletter.transports.smtp import SmtpTransport, unsent

pytestmark = pytest.mark.sqlite_only  # the SMTP transport alone; opens no database

MESSAGE = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: hi\r\n\r\n.a line with a dot\r\nbye\r\n"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost: (certificate PEM, key PEM)."""
    folder = tmp_path_factory.mktemp("tls")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, certificate))
    return context


@dataclass
class Handler:
    """Accepts mail; refuses the recipients in ``refuse``; answers DATA from ``data_answers`` first."""

    refuse: dict[str, str] = field(default_factory=dict)
    data_answers: list[str] = field(default_factory=list)
    stall: float = 0.0
    pipelining: bool = True
    received: list[tuple[str, bytes]] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    sessions: int = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        self.sessions += 1
        session.host_name = hostname
        if self.pipelining:  # aiosmtpd reads pipelined commands in order; it just does not say so
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_RSET(self, server, session, envelope):  # noqa: N802
        self.commands.append("RSET")
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.stall:
            await asyncio.sleep(self.stall)
        if self.data_answers:
            return self.data_answers.pop(0)
        self.received.append((envelope.rcpt_tos[0], envelope.original_content))
        return "250 2.0.0 accepted"


def authenticator(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
    ok = isinstance(auth_data, LoginPassword) and auth_data.password == b"s3cret"
    return AuthResult(success=ok and auth_data.login == b"news@example.org", handled=False)


@pytest.fixture
def serve() -> Iterator:
    controllers: list[Controller] = []

    def start(handler: Handler, **kwargs: object) -> int:
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
        controller.start()
        controllers.append(controller)
        return port

    yield start
    for controller in controllers:
        controller.stop()


def events(transport: SmtpTransport, sender: str, recipient: str, data: bytes | Composed) -> DeliveryResult:
    """What ``send`` does, the way a worker's event loop does it: ``begin``, then ``resume``
    whenever the socket is ready, the timeout verdict when it stays silent too long."""
    return finish(transport, transport.begin(sender, recipient, data))


def finish(transport: SmtpTransport, outcome: DeliveryResult | socket.socket) -> DeliveryResult:
    """The verdict on the transaction ``begin`` started with ``outcome``."""
    while not isinstance(outcome, DeliveryResult):
        writing = [outcome] if transport.writing else []
        readable, writable, _ = select.select([outcome], writing, [], transport.timeout)
        if not (readable or writable):
            return transport.timed_out()
        result = transport.resume()
        if result is not None:
            return result
    return outcome


@pytest.fixture(params=["send", "events"])
def send(request: pytest.FixtureRequest) -> Callable[..., DeliveryResult]:
    """One transaction, blocking (``send``) or driven by readiness (``begin``/``resume``)."""
    if request.param == "send":
        return lambda transport, *args: transport.send(*args)
    return events


def test_begin_waits_on_the_socket_where_the_server_pipelines_and_sends_at_once_elsewhere(serve) -> None:
    for pipelining in (True, False):
        transport = SmtpTransport("127.0.0.1", serve(Handler(pipelining=pipelining)), "none")
        outcome = transport.begin("news@example.org", "a@example.org", MESSAGE)
        if pipelining:
            assert isinstance(outcome, socket.socket)
        else:
            assert isinstance(outcome, DeliveryResult)
        assert finish(transport, outcome).state == "sent"
        transport.close()


@pytest.mark.parametrize("pipelining", [True, False])
def test_plain_delivers_many_over_one_connection_with_dots_intact(serve, send, pipelining: bool) -> None:
    handler = Handler(pipelining=pipelining)
    transport = SmtpTransport("127.0.0.1", serve(handler), "none")
    transport.open()
    for i in range(5):
        result = send(transport, "news@example.org", f"r{i}@example.org", MESSAGE)
        assert (result.state, result.code) == ("sent", 250)
    transport.close()
    assert handler.sessions == 1
    assert [r for r, _ in handler.received] == [f"r{i}@example.org" for i in range(5)]
    assert all(
        data.replace(b"\r\n", b"\n") == MESSAGE.replace(b"\r\n", b"\n") for _, data in handler.received
    )


def composed() -> Composed:
    """A message in pieces as compose makes them, one of them 3 MB (many socket buffers' worth)."""
    big = b"".join(b"line %07d of a long body=\r\n" % i for i in range(100_000))
    return Composed([b"From: a@example.org\r\nSubject: hi\r\n", b"\r\nfirst\r\n", big, b"last\r\n"])


@pytest.mark.parametrize("security", ["none", "tls"])
def test_a_composed_message_arrives_as_its_pieces_joined(serve, certificate, security: str, send) -> None:
    """Plain: one sendmsg of the pieces; TLS: joined. Either way the server gets the message whole."""
    handler = Handler()
    kwargs = {"ssl_context": server_context(certificate)} if security == "tls" else {}
    transport = SmtpTransport("127.0.0.1", serve(handler, **kwargs), security, tls_verify=False)
    transport.open()
    message = composed()
    for i in range(2):
        assert send(transport, "news@example.org", f"r{i}@example.org", message).state == "sent"
    transport.close()
    assert [data for _, data in handler.received] == [bytes(message)] * 2


def test_after_a_partial_write_the_rest_goes_from_where_it_stopped() -> None:
    """sendmsg on a socket whose send timeout ran out mid-way returns a count: what is left."""
    parts: list[bytes | memoryview] = [b"abc", b"", b"defgh", b"ij"]
    whole = b"".join(parts)
    for sent in range(len(whole) + 1):
        assert b"".join(bytes(p) for p in unsent(parts, sent)) == whole[sent:]
    assert unsent(parts, 3)[0] is parts[2]  # whole buffers are passed on, not copied


def test_multiline_replies_are_read_whole(serve, send) -> None:
    handler = Handler(data_answers=["452-4.2.2 mailbox full\r\n452-second line\r\n452 4.2.2 try later"])
    transport = SmtpTransport("127.0.0.1", serve(handler), "none")
    transport.open()
    result = send(transport, "news@example.org", "a@example.org", MESSAGE)
    assert (result.state, result.code) == ("deferred", 452)
    assert result.reply == "4.2.2 mailbox full second line 4.2.2 try later"
    assert send(transport, "news@example.org", "a@example.org", MESSAGE).state == "sent"
    assert handler.sessions == 1
    transport.close()


def test_refused_recipient_is_failed_with_its_reply_then_rset_and_the_connection_goes_on(serve, send) -> None:
    handler = Handler(refuse={"gone@example.org": "550 5.1.1 <gone@example.org>: no such user"})
    transport = SmtpTransport("127.0.0.1", serve(handler), "none")
    transport.open()
    result = send(transport, "news@example.org", "gone@example.org", MESSAGE)
    assert (result.state, result.code) == ("failed", 550)
    assert "no such user" in result.reply
    assert "RSET" in handler.commands
    assert send(transport, "news@example.org", "ok@example.org", MESSAGE).state == "sent"
    assert handler.sessions == 1
    transport.close()


def test_4xx_is_deferred_and_421_reconnects(serve, send) -> None:
    handler = Handler(data_answers=["451 4.3.0 try later", "421 4.3.2 closing"])
    transport = SmtpTransport("127.0.0.1", serve(handler), "none")
    transport.open()
    first = send(transport, "news@example.org", "a@example.org", MESSAGE)
    assert (first.state, first.code, first.reply) == ("deferred", 451, "4.3.0 try later")
    second = send(transport, "news@example.org", "a@example.org", MESSAGE)
    assert (second.state, second.code) == ("deferred", 421)
    assert send(transport, "news@example.org", "a@example.org", MESSAGE).state == "sent"
    assert handler.sessions == 2  # a new connection after the 421
    transport.close()


def test_a_stalled_server_is_a_timeout_and_deferred(serve, send) -> None:
    handler = Handler(stall=3.0)
    transport = SmtpTransport("127.0.0.1", serve(handler), "none", timeout=0.3)
    transport.open()
    result = send(transport, "news@example.org", "a@example.org", MESSAGE)
    assert result.state == "deferred"
    assert "no answer from the server within 0.3 s" in result.reply
    handler.stall = 0.0
    assert send(transport, "news@example.org", "a@example.org", MESSAGE).state == "sent"
    transport.close()


def test_starttls_with_the_test_ca_and_auth(serve, certificate) -> None:
    handler = Handler()
    port = serve(
        handler,
        tls_context=server_context(certificate),
        require_starttls=True,
        authenticator=authenticator,
        auth_require_tls=True,
    )
    transport = SmtpTransport(
        "127.0.0.1",
        port,
        "starttls",
        "news@example.org",
        "s3cret",
        tls_ca_file=str(certificate[0]),
    )
    transport.open()
    assert transport.send("news@example.org", "b@example.org", MESSAGE).state == "sent"
    transport.close()
    wrong = SmtpTransport(
        "127.0.0.1",
        port,
        "starttls",
        "news@example.org",
        "nope",
        password_env="PW",
        tls_ca_file=str(certificate[0]),
    )
    with pytest.raises(DeliveryError, match="refused the login for news@example.org") as info:
        wrong.open()
    assert "$PW" in (info.value.hint or "")


def test_starttls_refuses_an_untrusted_certificate(serve, certificate) -> None:
    port = serve(Handler(), tls_context=server_context(certificate), require_starttls=True)
    with pytest.raises(DeliveryError, match="certificate is not trusted") as info:
        SmtpTransport("127.0.0.1", port, "starttls").open()
    assert "tls_ca_file" in (info.value.hint or "")


def test_implicit_tls_with_verification_off(serve, certificate) -> None:
    handler = Handler()
    port = serve(handler, ssl_context=server_context(certificate))
    transport = SmtpTransport("127.0.0.1", port, "tls", tls_verify=False)
    transport.open()
    assert transport.send("news@example.org", "b@example.org", MESSAGE).state == "sent"
    transport.close()
    assert len(handler.received) == 1


def test_no_password_in_clear_text_to_another_host() -> None:
    transport = SmtpTransport("mail.example.org", 25, "none", "news@example.org", "s3cret")
    with pytest.raises(DeliveryError, match="refusing to send the password"):
        transport.open()


def test_a_closed_port_is_a_delivery_error_at_open_and_deferred_at_send() -> None:
    port = free_port()
    transport = SmtpTransport("127.0.0.1", port, "none")
    with pytest.raises(DeliveryError, match=f"cannot connect to the SMTP server 127.0.0.1:{port}"):
        transport.open()
    result = transport.send("news@example.org", "b@example.org", MESSAGE)
    assert result.state == "deferred" and "cannot connect" in result.reply
