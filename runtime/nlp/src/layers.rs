//! thinc's inference layers as spaCy's small English models use them: HashEmbed, Maxout, LayerNorm, Linear, the tok2vec.

use crate::NlpError;
use crate::hash::thinc_hash;
use crate::weights::{Array, Node};

/// y = W x + b with W stored row-major (n_out, n_in).
#[derive(Debug, Clone)]
pub struct Linear {
    pub w: Vec<f32>,
    pub b: Vec<f32>,
    pub n_out: usize,
    pub n_in: usize,
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    // Eight independent accumulators let the compiler vectorise.
    let mut acc = [0f32; 8];
    let chunks = a.len() / 8;
    for i in 0..chunks {
        for j in 0..8 {
            acc[j] += a[i * 8 + j] * b[i * 8 + j];
        }
    }
    let mut s: f32 = acc.iter().sum();
    for i in chunks * 8..a.len() {
        s += a[i] * b[i];
    }
    s
}

impl Linear {
    pub fn from_arrays(w: &Array, b: &Array) -> Result<Self, NlpError> {
        let n_out = *w.shape.first().unwrap_or(&0);
        let n_in = w.data.len() / n_out.max(1);
        if b.data.len() != n_out || n_out * n_in != w.data.len() {
            return Err(NlpError::Format("linear layer shapes disagree".into()));
        }
        Ok(Self {
            w: w.data.clone(),
            b: b.data.clone(),
            n_out,
            n_in,
        })
    }
    /// Applies the layer to `rows` input rows at once (row-major), writing rows x n_out values.
    pub fn apply_rows(&self, x: &[f32], rows: usize, out: &mut [f32]) {
        // never read or write past the slices, whatever the caller passes
        let rows = rows
            .min(x.len() / self.n_in.max(1))
            .min(out.len() / self.n_out.max(1));
        if rows == 0 {
            return;
        }
        for row in out[..rows * self.n_out].chunks_exact_mut(self.n_out) {
            row.copy_from_slice(&self.b);
        }
        // C (rows x n_out) += A (rows x n_in) * W^T, W stored (n_out, n_in) row-major.
        // SAFETY: `rows` was clamped so that rows*n_in values of x and rows*n_out values of out
        // exist, and w holds n_out*n_in values (checked in from_arrays); strides are row-major.
        unsafe {
            matrixmultiply::sgemm(
                rows,
                self.n_in,
                self.n_out,
                1.0,
                x.as_ptr(),
                self.n_in as isize,
                1,
                self.w.as_ptr(),
                1,
                self.n_in as isize,
                1.0,
                out.as_mut_ptr(),
                self.n_out as isize,
                1,
            );
        }
    }

    /// Applies the layer to one input vector, writing n_out values.
    pub fn apply(&self, x: &[f32], out: &mut [f32]) {
        for (o, y) in out.iter_mut().enumerate().take(self.n_out) {
            *y = dot(&self.w[o * self.n_in..(o + 1) * self.n_in], x) + self.b[o];
        }
    }
}

/// Maxout (W: nO x nP x nI) followed by LayerNorm, as in thinc's `Maxout(normalize=True)`.
#[derive(Debug, Clone)]
pub struct MaxoutNorm {
    lin: Linear,
    pieces: usize,
    g: Vec<f32>,
    beta: Vec<f32>,
}

impl MaxoutNorm {
    pub fn new(maxout: &Node, norm: &Node) -> Result<Self, NlpError> {
        let w = maxout.param("W")?;
        let b = maxout.param("b")?;
        if w.shape.len() != 3 {
            return Err(NlpError::Format("maxout W is not 3-d".into()));
        }
        let (n_o, n_p) = (w.shape[0], w.shape[1]);
        let lin = Linear::from_arrays(
            &Array {
                shape: vec![n_o * n_p, w.shape[2]],
                data: w.data.clone(),
            },
            &Array {
                shape: vec![n_o * n_p],
                data: b.data.clone(),
            },
        )?;
        let g = norm.param("G")?.data.clone();
        let beta = norm.param("b")?.data.clone();
        if g.len() != n_o || beta.len() != n_o {
            return Err(NlpError::Format(
                "layernorm width differs from maxout".into(),
            ));
        }
        Ok(Self {
            lin,
            pieces: n_p,
            g,
            beta,
        })
    }
    pub fn n_out(&self) -> usize {
        self.g.len()
    }
    pub fn n_in(&self) -> usize {
        self.lin.n_in
    }
    /// Many rows: one matrix product, then maxout and layer normalisation per row.
    pub fn apply_rows(&self, x: &[f32], rows: usize, scratch: &mut Vec<f32>, out: &mut [f32]) {
        scratch.resize(rows * self.lin.n_out, 0.0);
        self.lin.apply_rows(x, rows, scratch);
        let n = self.n_out();
        for (pre, y) in scratch
            .chunks_exact(self.lin.n_out)
            .zip(out.chunks_exact_mut(n))
            .take(rows)
        {
            self.finish_row(pre, y);
        }
    }

    fn finish_row(&self, pre: &[f32], out: &mut [f32]) {
        let n = self.n_out();
        for (y, p) in out.iter_mut().zip(pre.chunks_exact(self.pieces)).take(n) {
            *y = p.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        }
        let mean = out[..n].iter().sum::<f32>() / n as f32;
        let var = out[..n]
            .iter()
            .map(|v| (v - mean) * (v - mean))
            .sum::<f32>()
            / n as f32
            + 1e-8;
        let inv = var.powf(-0.5);
        for ((y, g), b) in out[..n].iter_mut().zip(&self.g).zip(&self.beta) {
            *y = (*y - mean) * inv * g + b;
        }
    }
}

/// thinc's HashEmbed: four hashed rows of a table summed.
#[derive(Debug, Clone)]
pub struct HashEmbed {
    table: Vec<f32>,
    rows: u32,
    width: usize,
    seed: u32,
}

impl HashEmbed {
    fn new(node: &Node) -> Result<Self, NlpError> {
        let e = node.param("E")?;
        let seed = node
            .attr_int("seed")
            .ok_or_else(|| NlpError::Format("hashembed without seed".into()))?;
        Ok(Self {
            table: e.data.clone(),
            rows: e.shape[0] as u32,
            width: e.shape[1],
            seed: seed as u32,
        })
    }
    fn add_into(&self, id: u64, out: &mut [f32]) {
        for key in thinc_hash(id, self.seed) {
            let row = (key % self.rows) as usize * self.width;
            for (o, v) in out.iter_mut().zip(&self.table[row..row + self.width]) {
                *o += v;
            }
        }
    }
}

/// spaCy's Tok2Vec.v2: MultiHashEmbed (embeddings + maxout mixer) then residual window-CNN blocks.
#[derive(Debug, Clone)]
pub struct Tok2Vec {
    embeds: Vec<HashEmbed>,
    mixer: MaxoutNorm,
    blocks: Vec<MaxoutNorm>,
}

impl Tok2Vec {
    /// Builds from the nodes of a model file: hashembeds, maxouts and layernorms in walk order.
    pub fn from_nodes(nodes: &[Node]) -> Result<Self, NlpError> {
        let embeds = nodes
            .iter()
            .filter(|n| n.name == "hashembed")
            .map(HashEmbed::new)
            .collect::<Result<Vec<_>, _>>()?;
        let maxouts: Vec<&Node> = nodes.iter().filter(|n| n.name == "maxout").collect();
        let norms: Vec<&Node> = nodes.iter().filter(|n| n.name == "layernorm").collect();
        if embeds.is_empty() || maxouts.is_empty() || maxouts.len() != norms.len() {
            return Err(NlpError::Format("tok2vec layers not found".into()));
        }
        let mut layers = maxouts
            .iter()
            .zip(&norms)
            .map(|(m, n)| MaxoutNorm::new(m, n))
            .collect::<Result<Vec<_>, _>>()?;
        let mixer = layers.remove(0);
        let width: usize = embeds.iter().map(|e| e.width).sum();
        if mixer.n_in() != width || layers.iter().any(|l| l.n_in() != 3 * l.n_out()) {
            return Err(NlpError::Format("tok2vec layer widths disagree".into()));
        }
        Ok(Self {
            embeds,
            mixer,
            blocks: layers,
        })
    }

    pub fn n_features(&self) -> usize {
        self.embeds.len()
    }
    pub fn width(&self) -> usize {
        self.mixer.n_out()
    }

    /// Token vectors (n x width, row-major) for one doc; `features[i]` has one id per embedding table.
    pub fn forward(&self, features: &[Vec<u64>]) -> Vec<f32> {
        let n = features.len();
        let w = self.width();
        let concat_w: usize = self.embeds.iter().map(|e| e.width).sum();
        let mut emb = vec![0f32; n * concat_w];
        for (row, feats) in emb.chunks_exact_mut(concat_w).zip(features) {
            let mut off = 0;
            for (e, &id) in self.embeds.iter().zip(feats) {
                e.add_into(id, &mut row[off..off + e.width]);
                off += e.width;
            }
        }
        let mut scratch = Vec::new();
        // thinc's with_array(pad=receptive field) runs the blocks over [zeros, doc, zeros]: the
        // padding rows are transformed too and feed the edge tokens' windows.
        let pad = self.blocks.len();
        let total = n + 2 * pad;
        let mut x = vec![0f32; total * w];
        self.mixer
            .apply_rows(&emb, n, &mut scratch, &mut x[pad * w..(pad + n) * w]);
        let mut windows = vec![0f32; total * 3 * w];
        let mut y = vec![0f32; total * w];
        for (k, block) in self.blocks.iter().enumerate() {
            // only rows within reach of the doc through the remaining blocks matter
            let reach = self.blocks.len() - 1 - k;
            let (lo, hi) = (pad - reach, pad + n + reach);
            let rows = hi - lo;
            for (r, win) in windows.chunks_exact_mut(3 * w).take(rows).enumerate() {
                let i = lo + r;
                win.fill(0.0);
                if i > 0 {
                    win[..w].copy_from_slice(&x[(i - 1) * w..i * w]);
                }
                win[w..2 * w].copy_from_slice(&x[i * w..(i + 1) * w]);
                if i + 1 < total {
                    win[2 * w..].copy_from_slice(&x[(i + 1) * w..(i + 2) * w]);
                }
            }
            block.apply_rows(&windows, rows, &mut scratch, &mut y);
            for (xo, yo) in x[lo * w..hi * w].iter_mut().zip(&y[..rows * w]) {
                *xo += yo;
            }
        }
        x.drain(..pad * w);
        x.truncate(n * w);
        x
    }
}
