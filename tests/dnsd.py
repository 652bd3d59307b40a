"""A DNS server on 127.0.0.1 for the tests: answers TXT questions from a dict, over UDP (dnspython
builds and parses the messages). ``NEWSLETTER_NAMESERVER=127.0.0.1:<port>`` points `check` at it."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset


def _quoted(text: str) -> str:
    """A TXT value as one or more quoted strings of at most 255 bytes (a long DKIM key is split)."""
    return " ".join(f'"{text[i : i + 255]}"' for i in range(0, len(text), 255)) or '""'


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        data, sock = self.request
        query = dns.message.from_wire(data)
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        records: dict[str, list[str]] = self.server.records  # type: ignore[attr-defined]
        for question in query.question:
            name = question.name.to_text().rstrip(".").lower()
            values = records.get(name)
            if values is None:
                response.set_rcode(dns.rcode.NXDOMAIN)
            elif question.rdtype == dns.rdatatype.TXT and values:
                response.answer.append(
                    dns.rrset.from_text(question.name, 300, "IN", "TXT", *(_quoted(v) for v in values))
                )
        sock.sendto(response.to_wire(), self.client_address)


@contextmanager
def dns_server(records: dict[str, list[str]]) -> Iterator[str]:
    """Serve ``records`` (name -> TXT values; the dict may change while serving); yields host:port."""
    server = socketserver.ThreadingUDPServer(("127.0.0.1", 0), _Handler)
    server.records = records  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
