import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest


@pytest.fixture
def webhook(settings):
    """A local HTTP server standing for a JSON webhook; `.received` holds the bodies it was sent,
    `.fail = True` makes it answer 500."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            server.received.append(json.loads(body))
            self.send_response(500 if server.fail else 200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    server.received, server.fail = [], False
    server.url = f"json://127.0.0.1:{server.server_port}/hook"
    # An administrator listed this host:port (apps/notifications/safety.py).
    settings.QINGKA_NOTIFY_WEBHOOK_HOSTS = [f"127.0.0.1:{server.server_port}"]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
