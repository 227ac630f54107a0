//! `echo`: a deterministic provider for tests and smoke checks, answering like the
//! earlier service: `[echo] ` then the transcript, one `role: content` line per
//! message (`[echo] [scenario] ...` when `metadata.scenario` is set).

use futures::StreamExt;
use serde_json::{Value, json};

use crate::llm::types::{
    Choice, Completion, CompletionRequest, CompletionStream, Message, StreamEvent, Usage, new_id,
    unix_now,
};
use crate::models::llm::Role;

pub const NAME: &str = "echo";
/// Model reported when the request names none (the earlier service's).
pub const DEFAULT_MODEL: &str = "echo-stub";

/// The echoed text of `request`.
pub fn echo_text(request: &CompletionRequest) -> String {
    let transcript = request
        .messages
        .iter()
        .map(|m| format!("{}: {}", m.role.as_str(), m.content))
        .collect::<Vec<_>>()
        .join("\n");
    let transcript = match transcript.trim() {
        "" => "(empty prompt)",
        t => t,
    };
    let label = request
        .metadata
        .as_ref()
        .and_then(|m| m.get("scenario"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(|s| format!("[{s}] "))
        .unwrap_or_default();
    format!("[echo] {label}{transcript}")
}

/// Rough usage, as the earlier service estimated it: a token per four characters.
fn estimated_usage(request: &CompletionRequest, answer: &str) -> Usage {
    let prompt_chars: usize = request
        .messages
        .iter()
        .map(|m| m.content.chars().count())
        .sum();
    let estimate = |chars: usize| (chars / 4).max(1) as u64;
    Usage::new(estimate(prompt_chars), estimate(answer.chars().count()))
}

fn model(request: &CompletionRequest) -> String {
    request
        .model
        .clone()
        .filter(|m| !m.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_MODEL.to_owned())
}

pub fn complete(request: &CompletionRequest) -> Completion {
    let text = echo_text(request);
    let usage = estimated_usage(request, &text);
    Completion {
        id: new_id(NAME),
        provider: NAME,
        model: model(request),
        created: unix_now(),
        choices: vec![Choice {
            index: 0,
            message: Message::new(Role::Assistant, text),
            finish_reason: Some("stop".to_owned()),
        }],
        usage: Some(usage),
        raw: Some(json!({
            "echo": true,
            "metadata": request.metadata.clone().unwrap_or_default(),
        })),
    }
}

/// The same text, a word at a time.
pub fn stream(request: &CompletionRequest) -> CompletionStream {
    let whole = complete(request);
    let pieces: Vec<String> = whole
        .text()
        .split_inclusive(' ')
        .map(str::to_owned)
        .collect();
    let events = pieces
        .into_iter()
        .map(|p| Ok(StreamEvent::Delta(p)))
        .chain(std::iter::once(Ok(StreamEvent::Finish {
            finish_reason: Some("stop".to_owned()),
            usage: whole.usage,
        })));
    CompletionStream {
        id: whole.id,
        provider: NAME,
        model: whole.model,
        created: whole.created,
        events: futures::stream::iter(events).boxed(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoes_the_transcript_with_the_scenario_label() {
        let mut request = CompletionRequest::new(vec![
            Message::new(Role::System, "be brief"),
            Message::new(Role::User, "hi"),
        ]);
        assert_eq!(echo_text(&request), "[echo] system: be brief\nuser: hi");
        request.metadata = Some(
            json!({"scenario": "demo"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        );
        let answer = complete(&request);
        assert_eq!(answer.text(), "[echo] [demo] system: be brief\nuser: hi");
        assert_eq!(answer.model, "echo-stub");
        assert_eq!(answer.raw.as_ref().unwrap()["metadata"]["scenario"], "demo");
        let usage = answer.usage.unwrap();
        assert_eq!(
            usage.total_tokens,
            usage.prompt_tokens + usage.completion_tokens
        );
    }

    #[tokio::test]
    async fn the_stream_joins_to_the_whole_answer() {
        let request = CompletionRequest::new(vec![Message::new(Role::User, "one two three")]);
        let events: Vec<_> = stream(&request).events.collect().await;
        let text: String = events
            .iter()
            .filter_map(|e| match e {
                Ok(StreamEvent::Delta(t)) => Some(t.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(text, complete(&request).text());
        assert!(events.len() > 2);
        assert!(matches!(
            events.last(),
            Some(Ok(StreamEvent::Finish { .. }))
        ));
    }
}
