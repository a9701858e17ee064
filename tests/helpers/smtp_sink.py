"""An SMTP sink: just enough SMTP (RFC 5321) for Django's SMTP backend, every message accepted
and kept. Production settings require an SMTP server (EMAIL_URL), so the multi-node test
(tests/celery/test_multi_node.py) and the benchmarks (bench/benchlib.py) point EMAIL_URL at one."""

from __future__ import annotations

import io
import socketserver
import threading


class SmtpSink:
    """Just enough SMTP (RFC 5321) for Django's SMTP backend: every message is accepted."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.lock = threading.Lock()
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                self.wfile.write(b"220 sink ESMTP\r\n")
                while line := self.rfile.readline():
                    verb = line[:4].upper()
                    if verb in (b"EHLO", b"HELO"):
                        self.wfile.write(b"250-sink\r\n250 8BITMIME\r\n")
                    elif verb == b"DATA":
                        self.wfile.write(b"354 go ahead\r\n")
                        data = io.BytesIO()
                        while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                            data.write(chunk)
                        with sink.lock:
                            sink.messages.append(data.getvalue())
                        self.wfile.write(b"250 queued\r\n")
                    elif verb == b"QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:  # MAIL, RCPT, RSET, NOOP
                        self.wfile.write(b"250 ok\r\n")

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def count(self, needle: bytes) -> int:
        with self.lock:
            return sum(1 for m in self.messages if needle in m)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
