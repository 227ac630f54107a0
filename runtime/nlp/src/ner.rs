//! The transition-based NER: BILUO moves over a greedy state machine scored by the precomputable affine + maxout + linear parser model.

use crate::NlpError;
use crate::layers::{Linear, Tok2Vec};
use crate::msgpack::{self, Value};
use crate::weights::read_model;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Move {
    Begin,
    In,
    Last,
    Unit,
    Out,
}

#[derive(Debug, Clone)]
struct Action {
    mv: Move,
    /// Index into `labels`; `None` for the empty label.
    label: Option<usize>,
}

/// One recognised entity over tokens `start..end`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntitySpan {
    pub start: usize,
    pub end: usize,
    pub label: String,
}

/// The NER component: its own tok2vec, the projection, the lower (precomputable) and upper layers, and the moves.
pub struct Ner {
    pub tok2vec: Tok2Vec,
    proj: Linear,
    /// The precomputable affine as one linear map nI -> (nF, nO, nP), without bias.
    lower: Linear,
    lower_bias: Vec<f32>,
    lower_pad: Vec<f32>,
    n_feat: usize,
    n_hidden: usize,
    n_pieces: usize,
    upper: Linear,
    actions: Vec<Action>,
    labels: Vec<String>,
}

/// The order spaCy's `TransitionSystem.initialize_actions` gives the moves.
fn read_actions(path: &Path) -> Result<(Vec<Action>, Vec<String>), NlpError> {
    let bytes = std::fs::read(path).map_err(|e| NlpError::io(path, e))?;
    let root = msgpack::decode(&bytes, &path.display().to_string())?;
    let json = root
        .get("moves")
        .and_then(Value::as_str)
        .ok_or_else(|| NlpError::Format("ner moves: no moves".into()))?;
    let moves: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(json).map_err(|e| NlpError::Format(format!("ner moves: {e}")))?;
    let mut keys: Vec<&String> = moves.keys().collect();
    keys.sort();
    let mut labels: Vec<String> = Vec::new();
    let mut actions: Vec<Action> = Vec::new();
    let mut added: Vec<(i64, String, u8)> = Vec::new();
    let add = |actions: &mut Vec<Action>, labels: &mut Vec<String>, code: u8, label: &str| {
        let mv = match code {
            1 => Move::Begin,
            2 => Move::In,
            3 => Move::Last,
            4 => Move::Unit,
            5 => Move::Out,
            _ => return,
        };
        if mv == Move::Out && !label.is_empty() {
            return;
        }
        let label = if label.is_empty() {
            None
        } else {
            Some(labels.iter().position(|l| l == label).unwrap_or_else(|| {
                labels.push(label.to_string());
                labels.len() - 1
            }))
        };
        if !actions.iter().any(|a| a.mv == mv && a.label == label) {
            actions.push(Action { mv, label });
        }
    };
    for key in keys {
        let code: u8 = key
            .parse()
            .map_err(|_| NlpError::Format(format!("ner move {key}")))?;
        let freqs = moves[key].as_object().cloned().unwrap_or_default();
        let mut sorted: Vec<(i64, String)> = freqs
            .iter()
            .map(|(l, f)| (f.as_i64().unwrap_or(0), l.clone()))
            .collect();
        sorted.sort();
        sorted.reverse();
        for (freq, label) in sorted {
            if freq < 0 {
                added.push((freq, label, code));
            } else {
                add(&mut actions, &mut labels, code, &label);
            }
        }
    }
    added.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)).reverse());
    for (_, label, code) in added {
        add(&mut actions, &mut labels, code, &label);
    }
    Ok((actions, labels))
}

impl Ner {
    pub fn load(dir: &Path) -> Result<Self, NlpError> {
        let nodes = read_model(&dir.join("model"))?;
        let tok2vec = Tok2Vec::from_nodes(&nodes)?;
        let lower = nodes
            .iter()
            .find(|n| n.name == "precomputable_affine")
            .ok_or_else(|| NlpError::Format("ner: no precomputable_affine".into()))?;
        let w = lower.param("W")?;
        if w.shape.len() != 4 {
            return Err(NlpError::Format("ner: lower W is not 4-d".into()));
        }
        let (n_feat, n_hidden, n_pieces, n_in) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3]);
        let linears: Vec<_> = nodes.iter().filter(|n| n.name == "linear").collect();
        let mut proj = None;
        let mut upper = None;
        for l in linears {
            let lin = Linear::from_arrays(l.param("W")?, l.param("b")?)?;
            if lin.n_in == tok2vec.width() && lin.n_out == n_in {
                proj = Some(lin);
            } else if lin.n_in == n_hidden {
                upper = Some(lin);
            }
        }
        let proj = proj.ok_or_else(|| NlpError::Format("ner: no tok2vec projection".into()))?;
        let upper = upper.ok_or_else(|| NlpError::Format("ner: no upper layer".into()))?;
        let (actions, labels) = read_actions(&dir.join("moves"))?;
        if actions.len() != upper.n_out {
            return Err(NlpError::Format(format!(
                "ner: {} moves but the model scores {}",
                actions.len(),
                upper.n_out
            )));
        }
        Ok(Self {
            tok2vec,
            proj,
            lower: Linear {
                w: w.data.clone(),
                b: vec![0.0; n_feat * n_hidden * n_pieces],
                n_out: n_feat * n_hidden * n_pieces,
                n_in,
            },
            lower_bias: lower.param("b")?.data.clone(),
            lower_pad: lower.param("pad")?.data.clone(),
            n_feat,
            n_hidden,
            n_pieces,
            upper,
            actions,
            labels,
        })
    }

    /// The move names in class order (e.g. "B-ORG", "O"), as spaCy's `move_names`.
    pub fn move_names(&self) -> Vec<String> {
        self.actions
            .iter()
            .map(|a| {
                let m = match a.mv {
                    Move::Begin => "B",
                    Move::In => "I",
                    Move::Last => "L",
                    Move::Unit => "U",
                    Move::Out => return "O".to_string(),
                };
                match a.label {
                    Some(l) => format!("{m}-{}", self.labels[l]),
                    None => format!("{m}-"),
                }
            })
            .collect()
    }

    /// Entities of one doc, given its lexical features and which tokens are whitespace.
    pub fn predict(&self, features: &[Vec<u64>], is_space: &[bool]) -> Vec<EntitySpan> {
        let n = features.len();
        if n == 0 {
            return Vec::new();
        }
        let vecs = self.tok2vec.forward(features);
        let n_in = self.proj.n_out;
        let fo = self.n_hidden * self.n_pieces;
        let mut x = vec![0f32; n * n_in];
        self.proj.apply_rows(&vecs, n, &mut x);
        // precomputed[t] = (W[f] @ x_t for each feature slot f), nF*nO*nP values per token
        let mut pre = vec![0f32; n * self.n_feat * fo];
        self.lower.apply_rows(&x, n, &mut pre);
        let mut ents: Vec<EntitySpan> = Vec::new();
        let mut open: Option<(usize, usize)> = None; // (start, label)
        let mut hidden = vec![0f32; self.n_hidden];
        let mut unmaxed = vec![0f32; fo];
        let mut scores = vec![0f32; self.upper.n_out];
        let mut b0 = 0usize;
        while b0 < n {
            let ids: [i64; 3] = {
                let e = open.map_or(-1, |(s, _)| s as i64);
                let last = if e < 0 { -1 } else { b0 as i64 - 1 };
                [b0 as i64, e, last]
            };
            unmaxed.copy_from_slice(&self.lower_bias);
            for (f, &id) in ids.iter().enumerate().take(self.n_feat) {
                let feat = if id < 0 {
                    &self.lower_pad[f * fo..(f + 1) * fo]
                } else {
                    let t = id as usize;
                    &pre[(t * self.n_feat + f) * fo..(t * self.n_feat + f + 1) * fo]
                };
                for (u, v) in unmaxed.iter_mut().zip(feat) {
                    *u += v;
                }
            }
            for (h, chunk) in hidden.iter_mut().zip(unmaxed.chunks_exact(self.n_pieces)) {
                *h = chunk.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            }
            self.upper.apply(&hidden, &mut scores);
            let buffer_len = n - b0;
            let mut best: Option<(usize, f32)> = None;
            for (c, a) in self.actions.iter().enumerate() {
                let valid = match a.mv {
                    Move::Begin => {
                        open.is_none() && buffer_len >= 2 && a.label.is_some() && !is_space[b0]
                    }
                    Move::In => {
                        buffer_len >= 2
                            && a.label.is_some()
                            && open.is_some_and(|(_, l)| Some(l) == a.label)
                    }
                    Move::Last => {
                        a.label.is_some() && open.is_some_and(|(_, l)| Some(l) == a.label)
                    }
                    Move::Unit => a.label.is_some() && open.is_none() && !is_space[b0],
                    Move::Out => open.is_none(),
                };
                if valid && best.is_none_or(|(_, s)| scores[c] > s) {
                    best = Some((c, scores[c]));
                }
            }
            let Some((c, _)) = best else { break };
            let a = &self.actions[c];
            match (a.mv, a.label) {
                (Move::Begin, Some(l)) => open = Some((b0, l)),
                (Move::Last, Some(l)) => {
                    if let Some((s, _)) = open.take() {
                        ents.push(EntitySpan {
                            start: s,
                            end: b0 + 1,
                            label: self.labels[l].clone(),
                        });
                    }
                }
                (Move::Unit, Some(l)) => ents.push(EntitySpan {
                    start: b0,
                    end: b0 + 1,
                    label: self.labels[l].clone(),
                }),
                _ => {}
            }
            b0 += 1;
        }
        ents
    }
}
