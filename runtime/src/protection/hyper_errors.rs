//! hyper's own error answers get a JSON `detail`. hyper answers a request it cannot
//! parse itself, before the router sees it (400 malformed request line or header,
//! 414 URI too long, 431 header fields too large), with an empty body, and offers no
//! hook to change that. [`JsonErrorIo`] wraps a connection's socket: a response head
//! that starts a write, has one of those statuses and `content-length: 0` (the router
//! never emits an empty error body: `json_errors` guarantees it) is replaced by the
//! same head with a JSON body. hyper closes the connection after such an answer.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The statuses hyper answers by itself (`proto::h1::role::Server::on_error`).
fn detail(status: &[u8]) -> Option<&'static str> {
    Some(match status {
        b"400" => "Malformed HTTP request: the request line or a header could not be parsed",
        b"414" => "Request URI too long (at most 65534 bytes)",
        b"431" => {
            "Request header fields too large (at most 100 header fields and about 400 KB of headers)"
        }
        b"505" => "HTTP version not supported",
        _ => return None,
    })
}

/// The answer replacing `buf`'s leading head, and the head's length, when `buf`
/// starts with one of hyper's empty error answers; `None` otherwise.
pub fn rewrite(buf: &[u8]) -> Option<(usize, Vec<u8>)> {
    let rest = buf
        .strip_prefix(b"HTTP/1.1 ")
        .or_else(|| buf.strip_prefix(b"HTTP/1.0 "))?;
    let detail = detail(rest.get(..3)?)?;
    let head_len = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = &buf[..head_len - 2];
    let mut lines = head.split(|b| *b == b'\n').filter(|l| !l.is_empty());
    let status_line = lines.next()?;
    let mut kept = Vec::new();
    let mut empty = false;
    for line in lines {
        let lower = line.to_ascii_lowercase();
        let lower = lower.strip_suffix(b"\r").unwrap_or(&lower);
        if let Some(value) = lower.strip_prefix(b"content-length:") {
            empty = value.trim_ascii() == b"0";
            if !empty {
                return None;
            }
        } else if lower.starts_with(b"content-type:") || lower.starts_with(b"transfer-encoding:") {
            return None;
        } else if !lower.starts_with(b"connection:") {
            kept.push(line);
        }
    }
    if !empty {
        return None;
    }
    let body = serde_json::json!({ "detail": detail }).to_string();
    let mut out = Vec::with_capacity(head_len + body.len() + 80);
    out.extend_from_slice(status_line);
    out.push(b'\n');
    out.extend_from_slice(b"content-type: application/json\r\n");
    out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    out.extend_from_slice(b"connection: close\r\n");
    for line in kept {
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body.as_bytes());
    Some((head_len, out))
}

/// A connection's socket whose hyper error answers are rewritten (see the module doc).
#[derive(Debug)]
pub struct JsonErrorIo<T> {
    inner: T,
    /// A replacement answer taken over from hyper, and how much of it is written.
    pending: Option<(Vec<u8>, usize)>,
}

impl<T> JsonErrorIo<T> {
    pub fn new(inner: T) -> Self {
        Self {
            inner,
            pending: None,
        }
    }
}

impl<T: AsyncWrite + Unpin> JsonErrorIo<T> {
    /// Writes what is left of a replacement answer; ready once none is left.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.pending {
            if *written >= bytes.len() {
                self.pending = None;
                break;
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }

    /// Takes `buf`'s leading hyper error head over, if it has one: the caller reports
    /// the head as written; its replacement goes out through `poll_drain`.
    fn take_over(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Option<Poll<io::Result<usize>>> {
        let (len, replacement) = rewrite(buf)?;
        self.pending = Some((replacement, 0));
        // Start writing now; a flush or the next write finishes it.
        Some(match self.poll_drain(cx) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            _ => Poll::Ready(Ok(len)),
        })
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for JsonErrorIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for JsonErrorIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        ready!(this.poll_drain(cx))?;
        if let Some(done) = this.take_over(cx, buf) {
            return done;
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        ready!(this.poll_drain(cx))?;
        // hyper keeps a head in one buffer: the first non-empty slice.
        let first = bufs.iter().find(|b| !b.is_empty());
        if let Some(done) = first.and_then(|first| this.take_over(cx, first)) {
            return done;
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const HYPER_414: &[u8] =
        b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\ndate: Mon, 30 Nov 2026 20:00:00 GMT\r\n\r\n";

    fn split(answer: &[u8]) -> (String, serde_json::Value) {
        let text = String::from_utf8_lossy(answer).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").expect("a head");
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .and_then(|v| v.parse().ok())
            .expect("content-length");
        assert_eq!(length, body.len(), "{text}");
        (head.to_owned(), serde_json::from_str(body).expect("JSON"))
    }

    #[test]
    fn hyper_error_heads_get_a_json_body_and_the_rest_passes() {
        let (len, out) = rewrite(HYPER_414).expect("rewritten");
        assert_eq!(len, HYPER_414.len());
        let (head, body) = split(&out);
        assert!(head.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{head}");
        assert!(head.contains("content-type: application/json"), "{head}");
        assert!(head.contains("date: Mon, 30 Nov"), "{head}");
        assert!(body["detail"].as_str().unwrap().contains("URI too long"));
        for status in ["400 Bad Request", "431 Request Header Fields Too Large"] {
            let raw = format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\n\r\n");
            assert!(rewrite(raw.as_bytes()).is_some(), "{status}");
        }
        // The app's own answers are never touched.
        for raw in [
            &b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 13\r\n\r\n{\"detail\":\"\"}"[..],
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ntransfer-encoding: chunked\r\n\r\n",
            b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\n",
            b"{\"detail\": \"HTTP/1.1 400 \"}",
        ] {
            assert!(rewrite(raw).is_none(), "{}", String::from_utf8_lossy(raw));
        }
    }

    #[tokio::test]
    async fn partial_writes_deliver_the_whole_answer_once() {
        // A pipe that takes 7 bytes at a time forces partial writes.
        let (client, server) = tokio::io::duplex(7);
        let reader = tokio::spawn(async move {
            let mut client = client;
            let mut all = Vec::new();
            client.read_to_end(&mut all).await.map(|_| all)
        });
        let mut io = JsonErrorIo::new(server);
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi";
        io.write_all(ok).await.unwrap();
        // The error head followed by more bytes in the same write: only the head is taken.
        let mut both = HYPER_414.to_vec();
        both.extend_from_slice(b"tail");
        io.write_all(&both).await.unwrap();
        io.shutdown().await.unwrap();
        drop(io);
        let all = reader.await.unwrap().unwrap();
        let (first, rest) = all.split_at(ok.len());
        assert_eq!(first, ok);
        let rest = rest
            .strip_suffix(b"tail")
            .expect("the tail follows the answer");
        let (head, body) = split(rest);
        assert!(head.starts_with("HTTP/1.1 414"), "{head}");
        assert!(body["detail"].is_string());
    }
}
