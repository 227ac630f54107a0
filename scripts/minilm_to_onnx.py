#!/usr/bin/env python3
"""Builds a deterministic fp32 ONNX graph of all-MiniLM-L6-v2 from its model.safetensors.

No package ships an fp32 ONNX graph of this model, so `make models` (scripts/models.sh)
builds one with this converter: the `onnx` package and NumPy only (no torch). The graph
is the whole sentence-transformers pipeline after tokenisation:

    inputs   input_ids       int64 [batch, seq]   (token ids, 0-padded)
             attention_mask  int64 [batch, seq]   (1 real token, 0 padding)
    output   sentence_embedding float32 [batch, 384]

BERT embeddings (token type 0) and 6 encoder layers with the additive attention mask,
exact (erf) GELU, then mean pooling over the real tokens (count clamped at 1e-9) and L2
normalisation (norm clamped at 1e-12), as sentence-transformers computes. Batch and
sequence axes are dynamic; padding rows or columns do not change a text's vector.

The same weights and this file always give the same bytes (no timestamps, fixed opset
and IR version, initialisers in a fixed order). Usage:
    minilm_to_onnx.py MODEL_DIR OUT.onnx
"""

import json
import math
import pathlib
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17  # LayerNormalization
IR_VERSION = 8
OUTPUT = "sentence_embedding"
MASK_NEG = float(np.finfo(np.float32).min)
COUNT_EPS = 1e-9  # sentence-transformers' clamp of the token count
NORM_EPS = 1e-12  # torch.nn.functional.normalize's epsilon

_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def read_safetensors(path: pathlib.Path) -> dict:
    """Tensors of a .safetensors file as float32 arrays (the format is a JSON header
    with byte offsets followed by raw little-endian data)."""
    raw = path.read_bytes()
    header_len = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + header_len])
    base = 8 + header_len
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES.get(info["dtype"])
        if dtype is None:
            raise SystemExit(f"{path}: tensor {name} has unsupported dtype {info['dtype']}")
        begin, end = info["data_offsets"]
        array = np.frombuffer(raw[base + begin : base + end], dtype=np.dtype(dtype).newbyteorder("<"))
        out[name.removeprefix("bert.")] = array.reshape(info["shape"]).astype(np.float32)
    return out


def build(model_dir: pathlib.Path) -> onnx.ModelProto:
    cfg = json.loads((model_dir / "config.json").read_text())
    pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
    if not pooling.get("pooling_mode_mean_tokens") or any(
        pooling.get(k) for k in ("pooling_mode_cls_token", "pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens")
    ):
        raise SystemExit(f"{model_dir}: only mean-token pooling is supported")
    if cfg.get("hidden_act") != "gelu":
        raise SystemExit(f"{model_dir}: hidden_act {cfg.get('hidden_act')!r}; only exact gelu is supported")
    w = read_safetensors(model_dir / "model.safetensors")
    hidden, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    head_dim = hidden // heads
    eps = cfg["layer_norm_eps"]
    inits, nodes = [], []

    def const(name, array):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(op, inputs, output, **attrs):
        nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    def linear(x, prefix, out):
        wt = const(prefix + ".wT", w[prefix + ".weight"].T)
        b = const(prefix + ".b", w[prefix + ".bias"])
        return node("Add", [node("MatMul", [x, wt], out + "_mm"), b], out)

    def layer_norm(x, prefix, out):
        g = const(prefix + ".g", w[prefix + ".weight"])
        b = const(prefix + ".b", w[prefix + ".bias"])
        return node("LayerNormalization", [x, g, b], out, axis=-1, epsilon=eps)

    one_f = const("one_f", np.array(1.0, np.float32))

    # Embeddings: word + token type 0 + position, then LayerNorm.
    word = node("Gather", [const("word", w["embeddings.word_embeddings.weight"]), "input_ids"], "emb_word")
    typ = const("type0", w["embeddings.token_type_embeddings.weight"][0])
    # The first `seq` rows of the position table (Shape's slice gives [seq] as 1-D).
    seq = node("Shape", ["input_ids"], "seq_len", start=1, end=2)
    zero = const("zero_1d", np.array([0], np.int64))
    pos = node("Slice", [const("pos", w["embeddings.position_embeddings.weight"]), zero, seq, zero], "emb_pos")
    x = node("Add", [node("Add", [word, typ], "emb_wt"), pos], "emb_sum")
    x = layer_norm(x, "embeddings.LayerNorm", "emb")

    # Additive attention mask (B, 1, 1, S): 0 for real tokens, float32 min for padding.
    maskf = node("Cast", ["attention_mask"], "mask_f", to=TensorProto.FLOAT)
    inv = node("Sub", [one_f, maskf], "mask_inv")
    neg = node("Mul", [inv, const("mask_neg", np.array(MASK_NEG, np.float32))], "mask_neg_f")
    bias = node("Unsqueeze", [neg, const("axes_1_2", np.array([1, 2], np.int64))], "mask_bias")

    split_shape = const("split_shape", np.array([0, 0, heads, head_dim], np.int64))
    merge_shape = const("merge_shape", np.array([0, 0, hidden], np.int64))
    scale = const("scale", np.array(1.0 / math.sqrt(head_dim), np.float32))
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
        gelu = node("Mul", [node("Mul", [inter, half], t + "halfx"), node("Add", [one_f, erf], t + "erf1")], t + "gelu")
        out = linear(gelu, p + "output.dense", t + "out")
        x = layer_norm(node("Add", [out, x], t + "res2"), p + "output.LayerNorm", t + "ln2")

    # Mean pooling over the real tokens, then L2 normalisation.
    mask3 = node("Unsqueeze", [maskf, const("axis_2", np.array([2], np.int64))], "mask_3d")
    axis1 = const("axis_1", np.array([1], np.int64))
    summed = node("ReduceSum", [node("Mul", [x, mask3], "masked_hidden"), axis1], "summed", keepdims=0)
    counts = node("ReduceSum", [maskf, axis1], "counts", keepdims=1)
    counts = node("Max", [counts, const("count_eps", np.array(COUNT_EPS, np.float32))], "counts_clamped")
    pooled = node("Div", [summed, counts], "pooled")
    norm = node("ReduceL2", [pooled], "norm", axes=[1], keepdims=1)
    norm = node("Max", [norm, const("norm_eps", np.array(NORM_EPS, np.float32))], "norm_clamped")
    node("Div", [pooled, norm], OUTPUT)

    dims = ["batch", "sequence"]
    graph = helper.make_graph(
        nodes,
        "all-minilm-l6-v2",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, dims),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, dims),
        ],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch", hidden])],
        inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="hermes scripts/minilm_to_onnx.py",
        ir_version=IR_VERSION,
    )
    onnx.checker.check_model(model)
    return model


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    model_dir, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    data = build(model_dir).SerializeToString(deterministic=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(out)
    print(f"minilm_to_onnx: wrote {out} ({len(data)} bytes)")


if __name__ == "__main__":
    main()
