"""A Sophia for `make bench` (scripts/bench-sophia.sh), per ../shared/contracts/README.md:
POST /ingest/hermes_proposal with a bearer token -> 201; a redelivered proposal (same
Idempotency-Key) is answered 201 again and stored once. GET /stats -> {"stored", "posts"}.
`--hang` listens without ever answering (a Sophia that accepts connections and stalls).

Usage: python3 scripts/sophia_stub.py PORT [--hang]
"""
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

stored = set()
posts = 0
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path != "/stats":
            return self.answer(404, {"detail": "not found"})
        with lock:
            self.answer(200, {"stored": len(stored), "posts": posts})

    def do_POST(self):
        global posts
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path != "/ingest/hermes_proposal":
            return self.answer(404, {"detail": "not found"})
        if not self.headers.get("Authorization", "").startswith("Bearer "):
            return self.answer(401, {"detail": "missing token"})
        proposal = json.loads(body)
        key = self.headers.get("Idempotency-Key") or proposal["proposal_id"]
        with lock:
            posts += 1
            stored.add(key)
        self.answer(201, {"status": "accepted", "proposal_id": proposal["proposal_id"]})


def main():
    port = int(sys.argv[1])
    if "--hang" in sys.argv[2:]:
        # The kernel completes connections up to the backlog; nobody reads them.
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(4096)
        while True:
            time.sleep(3600)
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
