#!/usr/bin/env python3
"""Reference all-MiniLM-L6-v2 embeddings, computed independently of the runtime.

A plain NumPy forward pass of BERT (float64) over the same model.safetensors the
runtime loads, tokenised with the `tokenizers` package, then mean pooling and L2
normalisation -- what sentence-transformers computes for this model. Each text is
run on its own (no padding), so the fixture also checks the runtime's batch
padding and attention mask.

Writes runtime/tests/fixtures/minilm_reference.json. Run in the project venv:
    .venv/bin/pip install numpy safetensors tokenizers
    .venv/bin/python scripts/make_reference_embeddings.py
"""

import argparse
import json
import math
import pathlib

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

ROOT = pathlib.Path(__file__).resolve().parent.parent

LONG_TEXT = (
    "The history of the lighthouse at Cape Morrow begins in 1852, when a wooden tower "
    "was raised on the northern cliffs after three ships were lost on the reef in a "
    "single winter. The first keeper, a former sailmaker named Elias Brandt, kept a "
    "logbook that survives to this day; in it he recorded the weather at dawn and dusk, "
    "the ships that passed, the oil he burned and the repairs he made to the lamp. "
    "In 1874 the wooden tower was replaced by one of granite, forty-two metres tall, "
    "with a Fresnel lens that could be seen twenty nautical miles out to sea. "
    "Electricity arrived in 1931, and with it a rotating beam that flashed twice every "
    "fifteen seconds. During the war the light was dimmed and the keepers watched for "
    "submarines instead of storms. Automation came in 1989: the last keeper, Margaret "
    "Oyelaran, handed over the keys to an engineer from the coastal authority and moved "
    "to the village below, where she opened a small museum about the tower, its lenses, "
    "its keepers and the wrecks on the reef. Today visitors climb the 214 steps to the "
    "gallery on summer afternoons, read the old logbooks behind glass, and look out over "
    "the same water that Brandt described as grey, restless and unforgiving. Scientists "
    "from the university also use the tower to measure wind speed, sea temperature and "
    "the migration of seabirds, so the building that once warned sailors now collects "
    "data about a changing climate, a purpose its builders could never have imagined "
    "when they hauled the first stones up the cliff path with ropes, horses and patience."
)

TEXTS = [
    "A man is playing a guitar.",
    "Someone plays an instrument.",
    "The stock market fell sharply today.",
    "How do I reset my password?",
    "Kubernetes schedules pods onto nodes based on resource requests.",
    "The quick brown fox jumps over the lazy dog!",
    "Invoice #4821: total due $1,299.95 by 2024-03-15 (net 30).",
    "Café déjà vu: naïve résumé über façade.",
    "東京は日本の首都です。",
    "Привет, как дела?",
    "I love this! 🎉🔥 Best day ever!!!",
    "   leading and trailing whitespace, tabs\tand\nnewlines   ",
    "e = mc^2; π ≈ 3.14159; 100% sure?",
    "a",
    LONG_TEXT,
]


def layer_norm(x, weight, bias, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


_erf = np.vectorize(math.erf, otypes=[np.float64])


def gelu(x):
    # BERT's exact GELU: x * Phi(x).
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


class NumpyBert:
    def __init__(self, model_dir):
        self.config = json.loads((model_dir / "config.json").read_text())
        self.w = {
            k: v.astype(np.float64)
            for k, v in load_file(str(model_dir / "model.safetensors")).items()
        }

    def linear(self, x, name):
        return x @ self.w[name + ".weight"].T + self.w[name + ".bias"]

    def forward(self, ids):
        """Hidden states (L, H) for one unpadded token sequence."""
        w, cfg = self.w, self.config
        eps = cfg["layer_norm_eps"]
        n = len(ids)
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:n]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = layer_norm(
            x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps
        )
        heads = cfg["num_attention_heads"]
        head_dim = cfg["hidden_size"] // heads
        for i in range(cfg["num_hidden_layers"]):
            p = f"encoder.layer.{i}."

            def split(t):
                return t.reshape(n, heads, head_dim).transpose(1, 0, 2)

            q = split(self.linear(x, p + "attention.self.query"))
            k = split(self.linear(x, p + "attention.self.key"))
            v = split(self.linear(x, p + "attention.self.value"))
            scores = q @ k.transpose(0, 2, 1) / math.sqrt(head_dim)
            scores = scores - scores.max(-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(-1, keepdims=True)
            ctx = (probs @ v).transpose(1, 0, 2).reshape(n, heads * head_dim)
            attn = self.linear(ctx, p + "attention.output.dense")
            x = layer_norm(
                attn + x,
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
                eps,
            )
            inter = gelu(self.linear(x, p + "intermediate.dense"))
            out = self.linear(inter, p + "output.dense")
            x = layer_norm(
                out + x,
                w[p + "output.LayerNorm.weight"],
                w[p + "output.LayerNorm.bias"],
                eps,
            )
        return x


def sentence_embedding(bert, ids):
    hidden = bert.forward(np.asarray(ids))
    pooled = hidden.mean(0)  # every token is real: no padding
    return pooled / max(np.linalg.norm(pooled), 1e-12)


def load_tokenizer(model_dir):
    max_len = json.loads((model_dir / "sentence_bert_config.json").read_text())[
        "max_seq_length"
    ]
    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    # tokenizer.json pads and truncates at 128; sentence-transformers does not.
    tok.no_padding()
    tok.enable_truncation(max_length=max_len)
    return tok, max_len


def sig7(x):
    return float(f"{x:.7g}")


def to_json(doc):
    """Readable header, one line per item: small diffs when the fixture changes."""
    head = {k: v for k, v in doc.items() if k != "items"}
    lines = [json.dumps(head, ensure_ascii=False)[:-1] + ', "items": [']
    lines += [
        json.dumps(item, ensure_ascii=False) + ("," if i + 1 < len(doc["items"]) else "")
        for i, item in enumerate(doc["items"])
    ]
    return "\n".join(lines) + "\n]}\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", default=ROOT / "models" / "all-minilm-l6-v2", type=pathlib.Path)
    parser.add_argument(
        "--out", default=ROOT / "runtime" / "tests" / "fixtures" / "minilm_reference.json", type=pathlib.Path
    )
    args = parser.parse_args()

    tok, max_len = load_tokenizer(args.model_dir)
    untruncated = Tokenizer.from_file(str(args.model_dir / "tokenizer.json"))
    untruncated.no_padding()
    untruncated.no_truncation()
    full_len = len(untruncated.encode(LONG_TEXT).ids)
    if full_len <= max_len:
        raise SystemExit(f"LONG_TEXT has {full_len} tokens; it must exceed {max_len}")

    bert = NumpyBert(args.model_dir)
    items = []
    for text in TEXTS:
        ids = tok.encode(text).ids
        vec = sentence_embedding(bert, ids)
        items.append({"text": text, "tokens": len(ids), "embedding": [sig7(v) for v in vec]})
        print(f"{len(ids):4d} tokens  {text[:60]!r}")
    print(f"long text: {full_len} tokens before truncation at {max_len}")

    doc = {
        "model": "all-minilm-l6-v2",
        "generator": "scripts/make_reference_embeddings.py (numpy forward pass)",
        "max_seq_length": max_len,
        "items": items,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(to_json(doc))
    print(f"wrote {len(items)} embeddings to {args.out}")


if __name__ == "__main__":
    main()
