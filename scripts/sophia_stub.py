"""A Sophia for `make bench` (scripts/bench-sophia.sh), per ../shared/contracts/README.md:
POST /ingest/hermes_proposal with a bearer token -> 201; a redelivered proposal (same
Idempotency-Key) is answered 201 again and stored once. GET /stats -> {"stored", "posts"}.
`--hang` listens without ever answering (a Sophia that accepts connections and stalls).
`--state FILE` keeps the stored keys in FILE (one per line), so a restarted stub still
knows what an earlier one stored (its counts span every run on that file).

Usage: python3 scripts/sophia_stub.py PORT [--hang] [--state FILE]
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
state_file = None


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
            if key not in stored:
                stored.add(key)
                if state_file:
                    state_file.write(key + "\n")
                    state_file.flush()
        self.answer(201, {"status": "accepted", "proposal_id": proposal["proposal_id"]})


def main():
    global state_file
    port = int(sys.argv[1])
    args = sys.argv[2:]
    if "--state" in args:
        path = args[args.index("--state") + 1]
        try:
            with open(path) as f:
                stored.update(line.strip() for line in f if line.strip())
        except FileNotFoundError:
            pass
        state_file = open(path, "a")
    if "--hang" in args:
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
