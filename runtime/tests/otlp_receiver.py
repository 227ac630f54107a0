"""A real OTLP/HTTP traces receiver for runtime/tests/tracing.rs.

Listens on 127.0.0.1 (a free port), decodes each `POST /v1/traces` body as an
`ExportTraceServiceRequest` with the official `opentelemetry-proto` package
(installed into the project venv by scripts/tools.sh), and appends one JSON line
per span to the file given as the first argument (with the span's resource
attributes and the export request's headers). Prints `listening <port>` once
ready. Runs until killed.
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

OUT = sys.argv[1]


def value(any_value):
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


def spans(request, headers):
    for resource_spans in request.resource_spans:
        resource = {a.key: value(a.value) for a in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                yield {
                    "service_name": resource.get("service.name"),
                    "resource": resource,
                    "headers": headers,
                    "trace_id": span.trace_id.hex(),
                    "span_id": span.span_id.hex(),
                    "parent_span_id": span.parent_span_id.hex(),
                    "name": span.name,
                    "kind": span.kind,
                    "status_code": span.status.code,
                    "attributes": {a.key: value(a.value) for a in span.attributes},
                    "links": [
                        {"trace_id": link.trace_id.hex(), "span_id": link.span_id.hex()}
                        for link in span.links
                    ],
                }


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        if self.path != "/v1/traces":
            self.send_error(404)
            return
        request = ExportTraceServiceRequest()
        try:
            request.ParseFromString(body)
        except Exception as e:  # a malformed export is the runtime's bug: say so
            self.send_error(400, f"not an ExportTraceServiceRequest: {e}")
            return
        with open(OUT, "a", encoding="utf-8") as out:
            headers = {k.lower(): v for k, v in self.headers.items()}
            for span in spans(request, headers):
                out.write(json.dumps(span) + "\n")
        answer = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    print(f"listening {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
