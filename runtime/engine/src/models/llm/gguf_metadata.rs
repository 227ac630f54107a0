//! Typed reads of GGUF metadata, each failure naming its key.

use std::collections::HashMap;

use candle_core::quantized::gguf_file::Value;

use super::error::LlmError;

pub(super) struct Metadata<'a>(pub(super) &'a HashMap<String, Value>);

impl<'a> Metadata<'a> {
    fn get(&self, key: &'static str) -> Result<&'a Value, LlmError> {
        self.0.get(key).ok_or(LlmError::Metadata {
            key,
            detail: "missing".to_owned(),
        })
    }

    pub(super) fn contains(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    pub(super) fn string(&self, key: &'static str) -> Result<&'a str, LlmError> {
        self.get(key)?
            .to_string()
            .map(String::as_str)
            .map_err(|e| wrong_type(key, e))
    }

    pub(super) fn u32(&self, key: &'static str) -> Result<u32, LlmError> {
        let value = self.get(key)?.to_u64().map_err(|e| wrong_type(key, e))?;
        u32::try_from(value).map_err(|_| LlmError::Metadata {
            key,
            detail: format!("{value} is out of range"),
        })
    }

    pub(super) fn array(&self, key: &'static str) -> Result<&'a [Value], LlmError> {
        self.get(key)?
            .to_vec()
            .map(Vec::as_slice)
            .map_err(|e| wrong_type(key, e))
    }

    pub(super) fn strings(&self, key: &'static str) -> Result<Vec<&'a str>, LlmError> {
        self.array(key)?
            .iter()
            .map(|v| {
                v.to_string()
                    .map(String::as_str)
                    .map_err(|e| wrong_type(key, e))
            })
            .collect()
    }

    pub(super) fn i32s(&self, key: &'static str) -> Result<Vec<i32>, LlmError> {
        self.array(key)?
            .iter()
            .map(|v| v.to_i32().map_err(|e| wrong_type(key, e)))
            .collect()
    }
}

fn wrong_type(key: &'static str, source: candle_core::Error) -> LlmError {
    LlmError::Metadata {
        key,
        detail: source.to_string(),
    }
}
