//! Reads a thinc model file (msgpack of nodes, attrs and numpy params) into named float arrays per node.

use crate::NlpError;
use crate::msgpack::{self, Value};
use std::path::Path;

/// A float32 array with its numpy shape.
#[derive(Debug, Clone)]
pub struct Array {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// One node of a serialized thinc model, in the file's walk order.
#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    pub params: Vec<(String, Array)>,
    pub attrs: Vec<(String, Value)>,
}

impl Node {
    pub fn param(&self, name: &str) -> Result<&Array, NlpError> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, a)| a)
            .ok_or_else(|| NlpError::Format(format!("node {} has no param {name}", self.name)))
    }
    pub fn attr_int(&self, name: &str) -> Option<i128> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_int())
    }
}

/// Reads all nodes of a thinc model file.
pub fn read_model(path: &Path) -> Result<Vec<Node>, NlpError> {
    let bytes = std::fs::read(path).map_err(|e| NlpError::io(path, e))?;
    let what = path.display().to_string();
    let root = msgpack::decode(&bytes, &what)?;
    let nodes = list(&root, "nodes", &what)?;
    let attrs = list(&root, "attrs", &what)?;
    let params = list(&root, "params", &what)?;
    if nodes.len() != attrs.len() || nodes.len() != params.len() {
        return Err(NlpError::Format(format!(
            "{what}: node, attr and param lists differ in length"
        )));
    }
    let mut out = Vec::with_capacity(nodes.len());
    for ((node, attr), param) in nodes.iter().zip(attrs).zip(params) {
        let name = node
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| NlpError::Format(format!("{what}: node without name")))?
            .to_string();
        let mut node_params = Vec::new();
        for (k, v) in param.as_map().unwrap_or(&[]) {
            let key = k.as_str().unwrap_or_default().to_string();
            node_params.push((key, array(v, &what)?));
        }
        let mut node_attrs = Vec::new();
        for (k, v) in attr.as_map().unwrap_or(&[]) {
            let key = k.as_str().unwrap_or_default().to_string();
            // thinc stores every attr as its own msgpack document
            let value = match v.as_bytes() {
                Some(b) if matches!(v, Value::Bin(_)) => msgpack::decode(b, &what)?,
                _ => v.clone(),
            };
            node_attrs.push((key, value));
        }
        out.push(Node {
            name,
            params: node_params,
            attrs: node_attrs,
        });
    }
    Ok(out)
}

fn list<'a>(root: &'a Value, key: &str, what: &str) -> Result<&'a [Value], NlpError> {
    root.get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| NlpError::Format(format!("{what}: no {key} list")))
}

/// Decodes a msgpack-numpy array (`{nd, type, shape, data}`) of little-endian float32.
fn array(v: &Value, what: &str) -> Result<Array, NlpError> {
    let bad = |m: &str| NlpError::Format(format!("{what}: {m}"));
    let dtype = v
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("array without type"))?;
    if dtype != "<f4" {
        return Err(bad(&format!("unsupported dtype {dtype}")));
    }
    let shape: Vec<usize> = v
        .get("shape")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("array without shape"))?
        .iter()
        .map(|d| d.as_int().map(|x| x as usize))
        .collect::<Option<_>>()
        .ok_or_else(|| bad("bad shape"))?;
    let raw = v
        .get("data")
        .and_then(Value::as_bytes)
        .ok_or_else(|| bad("array without data"))?;
    let n: usize = shape.iter().product();
    if raw.len() != n * 4 {
        return Err(bad("array data does not match its shape"));
    }
    let data = raw
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok(Array { shape, data })
}
