"""A proxy in front of a live test server that fails on purpose, to test clients' retries."""

import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FORWARDED = ("Authorization", "Content-Type", "Content-Encoding", "Idempotency-Key", "Accept")


class FlakyProxy:
    """A proxy in front of the live server: answers the first `failures` requests of `method`
    with 503 and forwards everything else. With `lose_answers`, it forwards those requests
    but answers 502, as when the connection breaks after the server has acted.
    Remembers what it was sent."""

    def __init__(
        self, upstream: str, method: str, failures: int = 1, lose_answers: bool = False
    ) -> None:
        self.upstream = upstream
        self.method = method
        self.failures = failures
        self.lose_answers = lose_answers
        self.seen: list[tuple[str, str, str | None]] = []  # method, path, idempotency key
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.relay()

            def do_POST(self) -> None:
                self.relay()

            def relay(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                proxy.seen.append((self.command, self.path, self.headers.get("Idempotency-Key")))
                failing = self.command == proxy.method and proxy.failures > 0
                if failing:
                    proxy.failures -= 1
                if failing and not proxy.lose_answers:
                    self.answer(503, {"Retry-After": "0"}, b'{"detail": "restarting"}')
                    return
                status, headers, answer = self.forward(body)
                if failing:
                    self.answer(502, {}, b"")
                else:
                    self.answer(status, headers, answer)

            def forward(self, body: bytes) -> tuple[int, Any, bytes]:
                request = urllib.request.Request(
                    proxy.upstream + self.path, data=body or None, method=self.command
                )
                for name in FORWARDED:
                    if self.headers.get(name):
                        request.add_header(name, self.headers[name])
                try:
                    with urllib.request.urlopen(request) as response:
                        return response.status, response.headers, response.read()
                except urllib.error.HTTPError as error:
                    return error.code, error.headers, error.read()

            def answer(self, status: int, headers: Any, body: bytes) -> None:
                self.send_response(status)
                for name in ("Content-Type", "Retry-After", "Idempotent-Replayed"):
                    if headers.get(name):
                        self.send_header(name, headers[name])
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
