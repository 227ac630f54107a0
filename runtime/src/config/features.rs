//! `HERMES_FEATURES_DISABLED`: the capabilities (`stt`, `tts`, `embeddings`, `nlp`,
//! `llm`) and deliveries (`milvus`: embedding persistence, `sophia`: forwarding media
//! and LLM proposals) an operator turns off. Everything is on by default.

use hermes_interface::Task;
use serde_json::{Value, json};

/// Which features are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    pub stt: bool,
    pub tts: bool,
    pub embeddings: bool,
    pub nlp: bool,
    pub llm: bool,
    /// Embeddings are written to Milvus (or its outbox).
    pub milvus: bool,
    /// Media and LLM proposals are forwarded to Sophia.
    pub sophia: bool,
}

/// The names `HERMES_FEATURES_DISABLED` takes, in `/health`'s order.
pub const NAMES: [&str; 7] = hermes_interface::env::FEATURES;

impl Default for Features {
    fn default() -> Self {
        Self {
            stt: true,
            tts: true,
            embeddings: true,
            nlp: true,
            llm: true,
            milvus: true,
            sophia: true,
        }
    }
}

impl Features {
    /// Everything on but the comma-separated names in `disabled`.
    pub fn parse(disabled: &str) -> Result<Self, String> {
        let mut features = Self::default();
        for name in disabled.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let name = name.to_ascii_lowercase();
            *features.flag(&name).ok_or_else(|| {
                format!("unknown feature {name:?} (known: {})", NAMES.join(", "))
            })? = false;
        }
        Ok(features)
    }

    fn flag(&mut self, name: &str) -> Option<&mut bool> {
        Some(match name {
            "stt" => &mut self.stt,
            "tts" => &mut self.tts,
            "embeddings" | "embedding" => &mut self.embeddings,
            "nlp" => &mut self.nlp,
            "llm" => &mut self.llm,
            "milvus" => &mut self.milvus,
            "sophia" => &mut self.sophia,
            _ => return None,
        })
    }

    /// Whether the capability serving `task` is on (its models are loaded).
    pub fn task_on(&self, task: Task) -> bool {
        match task {
            Task::Stt => self.stt,
            Task::Tts => self.tts,
            Task::Embedding => self.embeddings,
            Task::Nlp => self.nlp,
            Task::Llm => self.llm,
        }
    }

    /// The `/health` entry: each feature's name and whether it is on.
    pub fn health(&self) -> Value {
        let on = [
            self.stt,
            self.tts,
            self.embeddings,
            self.nlp,
            self.llm,
            self.milvus,
            self.sophia,
        ];
        let map: serde_json::Map<String, Value> = NAMES
            .iter()
            .zip(on)
            .map(|(name, on)| ((*name).to_owned(), json!(on)))
            .collect();
        Value::Object(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_features_turn_off_and_unknown_names_are_refused() {
        assert_eq!(Features::parse("").unwrap(), Features::default());
        let f = Features::parse("TTS, sophia").unwrap();
        assert!(!f.tts && !f.sophia);
        assert!(f.stt && f.embeddings && f.nlp && f.llm && f.milvus);
        assert!(!f.task_on(Task::Tts));
        assert!(f.task_on(Task::Embedding));
        assert_eq!(f.health()["tts"], json!(false));
        assert_eq!(f.health()["milvus"], json!(true));
        let err = Features::parse("tts,speech").unwrap_err();
        assert!(err.contains("\"speech\""), "{err}");
    }
}
