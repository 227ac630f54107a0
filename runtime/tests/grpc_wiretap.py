"""A TCP forwarder that records the headers of every HTTP/2 (gRPC) request
passing through it. The tracing test puts it between the runtime and a real
Milvus to see the metadata of the runtime's calls (`traceparent`). Bytes are
forwarded unchanged both ways; the client's side is parsed as it passes:
RFC 9113 frames, RFC 7541 header blocks decoded with the `hpack` package.

usage: grpc_wiretap.py UPSTREAM_PORT OUT.jsonl
Prints "listening PORT" once it accepts connections; appends one JSON object
per request (its headers, pseudo-headers included) to OUT.jsonl.
"""

import json
import socket
import sys
import threading

import hpack

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
HEADERS, CONTINUATION = 0x1, 0x9
END_HEADERS, PADDED, PRIORITY = 0x4, 0x8, 0x20


class ClientSide:
    """Parses what a client sends on one connection."""

    def __init__(self, record):
        self.record = record
        self.buffer = b""
        self.preface_seen = False
        self.decoder = hpack.Decoder()
        self.block = b""

    def feed(self, data):
        self.buffer += data
        if not self.preface_seen:
            if len(self.buffer) < len(PREFACE):
                return
            if not self.buffer.startswith(PREFACE):
                raise ValueError("not an HTTP/2 connection")
            self.buffer = self.buffer[len(PREFACE):]
            self.preface_seen = True
        while len(self.buffer) >= 9:
            length = int.from_bytes(self.buffer[:3], "big")
            if len(self.buffer) < 9 + length:
                return
            kind, flags = self.buffer[3], self.buffer[4]
            payload = self.buffer[9:9 + length]
            self.buffer = self.buffer[9 + length:]
            if kind == HEADERS:
                if flags & PADDED:
                    payload = payload[1:len(payload) - payload[0]]
                if flags & PRIORITY:
                    payload = payload[5:]
                self.block = payload
            elif kind == CONTINUATION:
                self.block += payload
            else:
                continue
            if flags & END_HEADERS:
                # Every block goes through the decoder: its table is stateful.
                headers = dict(self.decoder.decode(self.block))
                self.block = b""
                if ":path" in headers:
                    self.record(headers)


def pump(source, target, parse=None):
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            if parse is not None:
                try:
                    parse(data)
                except Exception as error:  # keep forwarding; say why parsing stopped
                    print(f"wiretap: parsing stopped: {error!r}", file=sys.stderr, flush=True)
                    parse = None
            target.sendall(data)
    except OSError:
        pass
    finally:
        for s in (source, target):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def main():
    upstream_port, out = int(sys.argv[1]), sys.argv[2]
    lock = threading.Lock()

    def record(headers):
        with lock, open(out, "a") as f:
            f.write(json.dumps(headers) + "\n")

    listener = socket.create_server(("127.0.0.1", 0))
    print(f"listening {listener.getsockname()[1]}", flush=True)
    while True:
        client, _ = listener.accept()
        try:
            server = socket.create_connection(("127.0.0.1", upstream_port))
        except OSError:
            client.close()
            continue
        side = ClientSide(record)
        threading.Thread(target=pump, args=(client, server, side.feed), daemon=True).start()
        threading.Thread(target=pump, args=(server, client), daemon=True).start()


if __name__ == "__main__":
    main()
