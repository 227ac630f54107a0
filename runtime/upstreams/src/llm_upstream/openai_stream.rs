//! Reading an OpenAI-compatible Server-Sent Events stream: `data: {chunk}` events
//! until `data: [DONE]`, reframed as [`StreamEvent`]s.

use std::collections::VecDeque;

use bytes::Bytes;
use futures::stream::{BoxStream, Stream, StreamExt};
use serde_json::Value;

use hermes_engine::llm::error::GatewayError;
use hermes_engine::llm::types::{StreamEvent, Usage};

use super::wire::{NAME, parse_usage, upstream_error_message};

/// Splits a byte stream into the `data` payloads of its events.
#[derive(Debug, Default)]
pub(super) struct SseParser {
    buffer: Vec<u8>,
}

impl SseParser {
    /// Adds bytes; returns the data of every event they complete.
    pub(super) fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        // `\r\n` line ends become `\n`; JSON payloads carry no raw `\r`.
        self.buffer.extend(bytes.iter().filter(|&&b| b != b'\r'));
        let mut events = Vec::new();
        while let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
            let event: Vec<u8> = self.buffer.drain(..end + 2).collect();
            let text = String::from_utf8_lossy(&event[..end]);
            let data: Vec<&str> = text
                .lines()
                .filter_map(|line| line.strip_prefix("data:"))
                .map(|d| d.strip_prefix(' ').unwrap_or(d))
                .collect();
            if !data.is_empty() {
                events.push(data.join("\n"));
            }
        }
        events
    }
}

/// The JSON chunks of an upstream stream, ending at `[DONE]`, at the end of the
/// body, or after the first error.
pub(super) fn chunks<S>(body: S) -> BoxStream<'static, Result<Value, GatewayError>>
where
    S: Stream<Item = reqwest::Result<Bytes>> + Send + 'static,
{
    struct State<S> {
        body: S,
        parser: SseParser,
        ready: VecDeque<String>,
        done: bool,
    }
    let state = State {
        body: Box::pin(body),
        parser: SseParser::default(),
        ready: VecDeque::new(),
        done: false,
    };
    futures::stream::unfold(state, |mut state| async move {
        loop {
            if state.done {
                return None;
            }
            if let Some(data) = state.ready.pop_front() {
                if data.trim() == "[DONE]" {
                    return None;
                }
                let item = match serde_json::from_str::<Value>(&data) {
                    Ok(chunk) if chunk.get("error").is_some_and(|e| !e.is_null()) => {
                        state.done = true;
                        Err(GatewayError::Upstream {
                            provider: NAME,
                            status: None,
                            detail: format!(
                                "error in its stream: {}",
                                upstream_error_message(&chunk).unwrap_or_else(|| data.clone())
                            ),
                        })
                    }
                    Ok(chunk) => Ok(chunk),
                    Err(e) => {
                        state.done = true;
                        Err(GatewayError::Upstream {
                            provider: NAME,
                            status: None,
                            detail: format!(
                                "a stream event is not JSON ({e}): {}",
                                truncate(&data)
                            ),
                        })
                    }
                };
                return Some((item, state));
            }
            match state.body.next().await {
                Some(Ok(bytes)) => state.ready.extend(state.parser.push(&bytes)),
                Some(Err(e)) => {
                    state.done = true;
                    let err = GatewayError::Upstream {
                        provider: NAME,
                        status: None,
                        detail: format!("its stream broke off: {e}"),
                    };
                    return Some((Err(err), state));
                }
                None => return None,
            }
        }
    })
    .boxed()
}

/// Text, finish reason and usage of one chunk.
pub(super) fn chunk_parts(chunk: &Value) -> (Option<String>, Option<String>, Option<Usage>) {
    let choice = chunk["choices"].get(0);
    let text = choice
        .and_then(|c| c["delta"]["content"].as_str())
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    let finish = choice
        .and_then(|c| c["finish_reason"].as_str())
        .map(str::to_owned);
    (text, finish, parse_usage(&chunk["usage"]))
}

/// The events of a chunk stream: a delta per piece of text, then one `Finish`
/// with the last finish reason and usage seen.
pub(super) fn events(
    chunks: BoxStream<'static, Result<Value, GatewayError>>,
) -> BoxStream<'static, Result<StreamEvent, GatewayError>> {
    struct State {
        chunks: BoxStream<'static, Result<Value, GatewayError>>,
        finish_reason: Option<String>,
        usage: Option<Usage>,
        finished: bool,
    }
    let state = State {
        chunks,
        finish_reason: None,
        usage: None,
        finished: false,
    };
    futures::stream::unfold(state, |mut state| async move {
        loop {
            if state.finished {
                return None;
            }
            match state.chunks.next().await {
                Some(Ok(chunk)) => {
                    let (text, finish, usage) = chunk_parts(&chunk);
                    state.finish_reason = finish.or(state.finish_reason.take());
                    state.usage = usage.or(state.usage);
                    if let Some(text) = text {
                        return Some((Ok(StreamEvent::Delta(text)), state));
                    }
                }
                Some(Err(e)) => {
                    state.finished = true;
                    return Some((Err(e), state));
                }
                None => {
                    state.finished = true;
                    let finish = StreamEvent::Finish {
                        finish_reason: state.finish_reason.take(),
                        usage: state.usage,
                    };
                    return Some((Ok(finish), state));
                }
            }
        }
    })
    .boxed()
}

fn truncate(text: &str) -> String {
    text.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_across_reads_and_crlf_are_reassembled() {
        let mut parser = SseParser::default();
        assert!(parser.push(b"data: {\"a\":").is_empty());
        assert_eq!(
            parser.push(b"1}\r\n\r\n: comment\n\ndata: [DONE]\n\n"),
            ["{\"a\":1}", "[DONE]"]
        );
        assert_eq!(
            parser.push("data: {\"t\":\"é".as_bytes()),
            Vec::<String>::new()
        );
        assert_eq!(parser.push(b"\"}\nid: 7\n\n"), ["{\"t\":\"é\"}"]);
    }

    #[tokio::test]
    async fn chunks_become_deltas_then_one_finish_with_usage() {
        let body = concat!(
            "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n",
            "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null}]}\n\n",
            "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"stop\"}]}\n\n",
            "data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5}}\n\n",
            "data: [DONE]\n\n",
            "data: {\"ignored\":true}\n\n",
        );
        let bytes = futures::stream::iter(
            body.as_bytes()
                .chunks(7)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect::<Vec<_>>(),
        );
        let got: Vec<_> = events(chunks(bytes)).collect().await;
        assert_eq!(
            got,
            vec![
                Ok(StreamEvent::Delta("Hel".into())),
                Ok(StreamEvent::Delta("lo".into())),
                Ok(StreamEvent::Finish {
                    finish_reason: Some("stop".into()),
                    usage: Some(Usage::new(3, 2)),
                }),
            ]
        );
    }

    #[tokio::test]
    async fn an_error_event_ends_the_stream_with_a_502_error() {
        let body = "data: {\"error\":{\"message\":\"overloaded\"}}\n\n";
        let bytes = futures::stream::iter(vec![Ok(Bytes::from_static(body.as_bytes()))]);
        let got: Vec<_> = chunks(bytes).collect().await;
        assert_eq!(got.len(), 1);
        let err = got[0].clone().unwrap_err();
        assert_eq!(err.status_code(), 502);
        assert!(err.to_string().contains("overloaded"), "{err}");
    }
}
