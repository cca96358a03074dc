#!/usr/bin/env python3
"""auth_http service for the benchmark's nginx mail proxy.

Accepts every login and sends nginx to Dovecot on 127.0.0.1: users whose
name starts with "idle" go to IDLE_PORT, all others to MAIN_PORT. The
password is checked by Dovecot when nginx logs in there.

    bench_auth.py LISTEN_PORT MAIN_PORT IDLE_PORT
"""

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class AuthHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_GET(self):
        user = self.headers.get("Auth-User", "")
        port = self.server.idle_port if user.startswith("idle") else self.server.main_port
        self.send_response(200)
        self.send_header("Auth-Status", "OK")
        self.send_header("Auth-Server", "127.0.0.1")
        self.send_header("Auth-Port", str(port))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format, *args):
        # One line per login would slow the login-rate scenario.
        pass


class AuthServer(ThreadingHTTPServer):
    # The default listen backlog of 5 drops connections when nginx opens
    # dozens of logins at once.
    request_queue_size = 1024
    daemon_threads = True


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: bench_auth.py LISTEN_PORT MAIN_PORT IDLE_PORT")
    listen_port, main_port, idle_port = (int(arg) for arg in sys.argv[1:])
    server = AuthServer(("127.0.0.1", listen_port), AuthHandler)
    server.main_port = main_port
    server.idle_port = idle_port
    server.serve_forever()


if __name__ == "__main__":
    main()
