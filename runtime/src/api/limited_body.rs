//! A request body cut off once it passes a byte limit, so that a form parser
//! (multer buffers everything until it finds a boundary) never holds more than
//! the limit, whatever `Content-Length` or chunking the client chose.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::Body;
use futures::StreamExt;

/// The body ended early because it passed its limit.
#[derive(Debug, thiserror::Error)]
#[error("the request body is larger than {limit} bytes")]
pub struct BodyTooLarge {
    pub limit: u64,
}

/// `body` limited to `limit` bytes, and a flag set when the limit cut it off
/// (the parser reports the error as its own; the flag tells it was the limit).
pub fn limited(body: Body, limit: u64) -> (Body, Arc<AtomicBool>) {
    let exceeded = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&exceeded);
    let mut read = 0u64;
    let stream = body.into_data_stream().map(move |chunk| {
        let chunk = chunk?;
        read = read.saturating_add(chunk.len() as u64);
        if read > limit {
            flag.store(true, Ordering::Release);
            return Err(axum::Error::new(BodyTooLarge { limit }));
        }
        Ok(chunk)
    });
    (Body::from_stream(stream), exceeded)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read_all(body: Body) -> Result<usize, axum::Error> {
        let mut stream = body.into_data_stream();
        let mut n = 0;
        while let Some(chunk) = stream.next().await {
            n += chunk?.len();
        }
        Ok(n)
    }

    fn chunked(chunks: usize, size: usize) -> Body {
        let parts = (0..chunks).map(move |_| Ok::<_, std::io::Error>(vec![b'x'; size]));
        Body::from_stream(futures::stream::iter(parts))
    }

    #[tokio::test]
    async fn a_body_within_the_limit_passes_whole() {
        let (body, exceeded) = limited(chunked(4, 1000), 4000);
        assert_eq!(read_all(body).await.unwrap(), 4000);
        assert!(!exceeded.load(Ordering::Acquire));
    }

    #[tokio::test]
    async fn a_chunked_body_is_cut_off_at_the_limit() {
        let (body, exceeded) = limited(chunked(1000, 1000), 4500);
        let err = read_all(body).await.unwrap_err();
        assert!(err.to_string().contains("4500"), "{err}");
        assert!(exceeded.load(Ordering::Acquire));
    }
}
