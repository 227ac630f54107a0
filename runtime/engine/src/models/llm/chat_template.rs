//! The conversation types and SmolLM2's ChatML prompt.
//!
//! SmolLM2's template (GGUF `tokenizer.chat_template`) renders each message as
//! `<|im_start|>{role}\n{content}<|im_end|>\n`, inserts a default system message
//! when the conversation does not start with one, and ends with the generation
//! prompt `<|im_start|>assistant\n`. Rather than run Jinja, the loader checks the
//! template is ChatML and takes the default system message from it.

use super::error::LlmError;

pub(super) const IM_START: &str = "<|im_start|>";
pub(super) const IM_END: &str = "<|im_end|>";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    System,
    User,
    Assistant,
    Tool,
}

impl Role {
    /// The role's name in the prompt (and in OpenAI's API).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

impl ChatMessage {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
        }
    }
}

/// The ChatML layout of one model: what to say when no system message is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatTemplate {
    default_system: Option<String>,
}

/// One piece of a rendered prompt: a control token, or text to tokenise literally
/// (so that `<|im_end|>` typed by a user stays text and cannot end a turn).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PromptPart<'a> {
    ImStart,
    ImEnd,
    Text(std::borrow::Cow<'a, str>),
}

impl ChatTemplate {
    /// Reads the template from the GGUF's `tokenizer.chat_template` (`None`: plain
    /// ChatML without a default system message).
    pub fn from_metadata(template: Option<&str>) -> Result<Self, LlmError> {
        let Some(template) = template else {
            return Ok(Self {
                default_system: None,
            });
        };
        if !template.contains(IM_START) || !template.contains(IM_END) {
            return Err(LlmError::Metadata {
                key: "tokenizer.chat_template",
                detail: "not a ChatML template (no <|im_start|>/<|im_end|>)".to_owned(),
            });
        }
        let default_system = default_system_message(template)?;
        Ok(Self { default_system })
    }

    pub fn default_system(&self) -> Option<&str> {
        self.default_system.as_deref()
    }

    /// The prompt as text, exactly as the model's template renders it.
    pub fn render(&self, messages: &[ChatMessage]) -> String {
        self.parts(messages)
            .into_iter()
            .map(|part| match part {
                PromptPart::ImStart => std::borrow::Cow::Borrowed(IM_START),
                PromptPart::ImEnd => std::borrow::Cow::Borrowed(IM_END),
                PromptPart::Text(text) => text,
            })
            .collect()
    }

    pub(super) fn parts<'a>(&'a self, messages: &'a [ChatMessage]) -> Vec<PromptPart<'a>> {
        let mut parts = Vec::with_capacity(4 * messages.len() + 6);
        let mut turn = |role: &str, content: &'a str| {
            parts.push(PromptPart::ImStart);
            parts.push(PromptPart::Text(format!("{role}\n{content}").into()));
            parts.push(PromptPart::ImEnd);
            parts.push(PromptPart::Text("\n".into()));
        };
        let starts_with_system = messages.first().is_some_and(|m| m.role == Role::System);
        if let (false, Some(system)) = (starts_with_system, &self.default_system) {
            turn(Role::System.as_str(), system);
        }
        for message in messages {
            turn(message.role.as_str(), &message.content);
        }
        parts.push(PromptPart::ImStart);
        parts.push(PromptPart::Text(
            format!("{}\n", Role::Assistant.as_str()).into(),
        ));
        parts
    }
}

/// The system message the template inserts itself: the literal after
/// `<|im_start|>system\n` up to `<|im_end|>`, if the template has one.
fn default_system_message(template: &str) -> Result<Option<String>, LlmError> {
    let opening = format!("{IM_START}system\n");
    let Some(start) = template.find(&opening).map(|i| i + opening.len()) else {
        return Ok(None);
    };
    let Some(length) = template[start..].find(IM_END) else {
        return Ok(None);
    };
    let message = &template[start..start + length];
    // A Jinja expression or quote inside means this is not a plain literal.
    if message.contains(['{', '}', '\'', '"', '\\']) {
        return Err(LlmError::Metadata {
            key: "tokenizer.chat_template",
            detail: format!("cannot read the default system message from {message:?}"),
        });
    }
    Ok(Some(message.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SmolLM2-135M-Instruct's template, as its GGUF carries it.
    const SMOLLM2: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    #[test]
    fn inserts_the_default_system_message_when_none_is_given() {
        let template = ChatTemplate::from_metadata(Some(SMOLLM2)).unwrap();
        let prompt = template.render(&[ChatMessage::new(Role::User, "Hi")]);
        assert_eq!(
            prompt,
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n\
             <|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn keeps_a_given_system_message_and_every_role() {
        let template = ChatTemplate::from_metadata(Some(SMOLLM2)).unwrap();
        let prompt = template.render(&[
            ChatMessage::new(Role::System, "Be brief."),
            ChatMessage::new(Role::User, "2+2?"),
            ChatMessage::new(Role::Assistant, "4"),
            ChatMessage::new(Role::Tool, "{\"ok\":true}"),
        ]);
        assert_eq!(
            prompt,
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n\
             <|im_start|>assistant\n4<|im_end|>\n<|im_start|>tool\n{\"ok\":true}<|im_end|>\n\
             <|im_start|>assistant\n"
        );
    }

    #[test]
    fn a_system_message_later_in_the_conversation_still_gets_the_default_first() {
        let template = ChatTemplate::from_metadata(Some(SMOLLM2)).unwrap();
        let prompt = template.render(&[
            ChatMessage::new(Role::User, "a"),
            ChatMessage::new(Role::System, "b"),
        ]);
        assert!(prompt.starts_with("<|im_start|>system\nYou are a helpful AI assistant"));
        assert!(prompt.contains("<|im_start|>system\nb<|im_end|>\n"));
    }

    #[test]
    fn plain_chatml_without_template_has_no_default_system() {
        let template = ChatTemplate::from_metadata(None).unwrap();
        assert_eq!(template.default_system(), None);
        assert_eq!(
            template.render(&[ChatMessage::new(Role::User, "x")]),
            "<|im_start|>user\nx<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn rejects_templates_that_are_not_chatml() {
        let llama2 = "{% for m in messages %}[INST] {{ m['content'] }} [/INST]{% endfor %}";
        assert!(matches!(
            ChatTemplate::from_metadata(Some(llama2)),
            Err(LlmError::Metadata {
                key: "tokenizer.chat_template",
                ..
            })
        ));
        let dynamic = "{{ '<|im_start|>system\n' + default + '<|im_end|>\n' }}";
        assert!(ChatTemplate::from_metadata(Some(dynamic)).is_err());
    }
}
