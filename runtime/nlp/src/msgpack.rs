//! A minimal MessagePack decoder for the files spaCy and thinc write (models, tokenizer, lookups).

use crate::NlpError;

/// One decoded MessagePack value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Nil,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Bin(Vec<u8>),
    Array(Vec<Value>),
    Map(Vec<(Value, Value)>),
    Ext(i8, Vec<u8>),
}

impl Value {
    /// The value under a string (or byte-string) key of a map.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries.iter().find_map(|(k, v)| match k {
                Value::Str(s) if s == key => Some(v),
                Value::Bin(b) if b.as_slice() == key.as_bytes() => Some(v),
                _ => None,
            }),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            Value::Bin(b) => std::str::from_utf8(b).ok(),
            _ => None,
        }
    }
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
    pub fn as_map(&self) -> Option<&[(Value, Value)]> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }
    pub fn as_int(&self) -> Option<i128> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bin(b) => Some(b),
            Value::Str(s) => Some(s.as_bytes()),
            _ => None,
        }
    }
}

/// Decodes one value from the start of `data`; trailing bytes are an error.
pub fn decode(data: &[u8], what: &str) -> Result<Value, NlpError> {
    let mut reader = Reader { data, pos: 0 };
    let value = reader
        .value(0)
        .map_err(|msg| NlpError::Format(format!("{what}: {msg}")))?;
    if reader.pos != data.len() {
        return Err(NlpError::Format(format!(
            "{what}: {} trailing bytes",
            data.len() - reader.pos
        )));
    }
    Ok(value)
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or_else(|| format!("truncated at byte {}", self.pos))?;
        let slice = &self.data[self.pos..end];
        self.pos = end;
        Ok(slice)
    }
    fn uint(&mut self, n: usize) -> Result<u64, String> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }
    fn str(&mut self, n: usize) -> Result<Value, String> {
        let bytes = self.take(n)?;
        String::from_utf8(bytes.to_vec())
            .map(Value::Str)
            .map_err(|_| format!("invalid UTF-8 string at byte {}", self.pos))
    }
    fn array(&mut self, n: usize, depth: usize) -> Result<Value, String> {
        let mut items = Vec::with_capacity(n.min(1 << 16));
        for _ in 0..n {
            items.push(self.value(depth + 1)?);
        }
        Ok(Value::Array(items))
    }
    fn map(&mut self, n: usize, depth: usize) -> Result<Value, String> {
        let mut items = Vec::with_capacity(n.min(1 << 16));
        for _ in 0..n {
            let k = self.value(depth + 1)?;
            let v = self.value(depth + 1)?;
            items.push((k, v));
        }
        Ok(Value::Map(items))
    }
    fn ext(&mut self, n: usize) -> Result<Value, String> {
        let kind = self.take(1)?[0] as i8;
        Ok(Value::Ext(kind, self.take(n)?.to_vec()))
    }
    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth > 64 {
            return Err("nesting too deep".into());
        }
        let b = self.take(1)?[0];
        Ok(match b {
            0x00..=0x7f => Value::Int(i128::from(b)),
            0x80..=0x8f => self.map(usize::from(b & 0x0f), depth)?,
            0x90..=0x9f => self.array(usize::from(b & 0x0f), depth)?,
            0xa0..=0xbf => self.str(usize::from(b & 0x1f))?,
            0xc0 => Value::Nil,
            0xc2 => Value::Bool(false),
            0xc3 => Value::Bool(true),
            0xc4..=0xc6 => {
                let n = self.uint(1 << (b - 0xc4))? as usize;
                Value::Bin(self.take(n)?.to_vec())
            }
            0xc7..=0xc9 => {
                let n = self.uint(1 << (b - 0xc7))? as usize;
                self.ext(n)?
            }
            0xca => Value::Float(f64::from(f32::from_bits(self.uint(4)? as u32))),
            0xcb => Value::Float(f64::from_bits(self.uint(8)?)),
            0xcc..=0xcf => Value::Int(i128::from(self.uint(1 << (b - 0xcc))?)),
            0xd0 => Value::Int(i128::from(self.uint(1)? as u8 as i8)),
            0xd1 => Value::Int(i128::from(self.uint(2)? as u16 as i16)),
            0xd2 => Value::Int(i128::from(self.uint(4)? as u32 as i32)),
            0xd3 => Value::Int(i128::from(self.uint(8)? as i64)),
            0xd4..=0xd8 => self.ext(1 << (b - 0xd4))?,
            0xd9..=0xdb => {
                let n = self.uint(1 << (b - 0xd9))? as usize;
                self.str(n)?
            }
            0xdc | 0xdd => {
                let n = self.uint(2 << (b - 0xdc))? as usize;
                self.array(n, depth)?
            }
            0xde | 0xdf => {
                let n = self.uint(2 << (b - 0xde))? as usize;
                self.map(n, depth)?
            }
            0xe0..=0xff => Value::Int(i128::from(b as i8)),
            0xc1 => return Err(format!("reserved byte 0xc1 at {}", self.pos - 1)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_nested_maps_arrays_and_numbers() {
        // {"a": [1, -1, 300, "x"], "b": true}
        let data = [
            0x82, 0xa1, b'a', 0x94, 0x01, 0xff, 0xcd, 0x01, 0x2c, 0xa1, b'x', 0xa1, b'b', 0xc3,
        ];
        let v = decode(&data, "test").unwrap();
        let a = v.get("a").and_then(Value::as_array).unwrap();
        assert_eq!(a[0], Value::Int(1));
        assert_eq!(a[1], Value::Int(-1));
        assert_eq!(a[2], Value::Int(300));
        assert_eq!(a[3].as_str(), Some("x"));
        assert_eq!(v.get("b"), Some(&Value::Bool(true)));
    }

    #[test]
    fn truncated_input_is_an_error() {
        assert!(decode(&[0x92, 0x01], "test").is_err());
    }
}
