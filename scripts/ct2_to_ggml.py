#!/usr/bin/env python3
"""Converts a Whisper model in CTranslate2 format to whisper.cpp's ggml format.

    ct2_to_ggml.py CT2_MODEL_DIR OUT_FILE

CT2_MODEL_DIR holds CTranslate2's `model.bin` (WhisperSpec, binary version 6) and
`vocabulary.txt`; OUT_FILE receives the file whisper.cpp loads (`ggml-model.bin`),
laid out exactly as whisper.cpp's own `convert-pt-to-ggml.py` writes it:

  1. magic "ggml" and the hyper-parameters (n_vocab, n_audio_ctx, n_audio_state,
     n_audio_head, n_audio_layer, n_text_ctx, n_text_state, n_text_head,
     n_text_layer, n_mels, ftype=1 for float16), read off the tensors' shapes;
  2. the mel filter bank, 80 x 201 float32: librosa's `filters.mel(sr=16000,
     n_fft=400, n_mels=80)` (Slaney mel scale, Slaney area normalisation), computed
     here with numpy, as OpenAI's `mel_filters.npz` was;
  3. the byte-level BPE vocabulary: CT2 stores GPT-2's printable stand-ins
     ("Ġthe"); ggml wants the raw bytes (b" the"), for the regular tokens only
     (whisper.cpp derives the special tokens' ids from n_vocab);
  4. every tensor under OpenAI's state-dict name. CT2 fuses the self-attention's
     query/key/value projections (and the cross-attention's key/value) into one
     matrix: they are split back, and the key bias CT2 adds as zeros is dropped
     (Whisper's key projection has none). Matrices stay float16; vectors, conv
     biases (reshaped to [n, 1]) and positional embeddings become float32.

Deterministic: the same input gives the same bytes (no timestamps, no randomness,
a fixed tensor order). Needs numpy only.
"""

import struct
import sys
from pathlib import Path

import numpy as np

GGML_MAGIC = 0x67676D6C
CT2_BINARY_VERSION = 6
# CTranslate2's DataType enum, as model.bin stores it.
CT2_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
SAMPLE_RATE = 16000
N_FFT = 400


class ConversionError(Exception):
    pass


def read_ct2(path):
    """Returns (spec name, {variable name: numpy array}) of a CTranslate2 model.bin."""
    data = Path(path).read_bytes()
    pos = 0

    def take(fmt):
        nonlocal pos
        values = struct.unpack_from(fmt, data, pos)
        pos += struct.calcsize(fmt)
        return values[0]

    def string():
        nonlocal pos
        length = take("<H")
        text = data[pos : pos + length - 1].decode("utf-8")
        pos += length
        return text

    version = take("<I")
    if version != CT2_BINARY_VERSION:
        raise ConversionError(f"{path}: CTranslate2 binary version {version}, expected {CT2_BINARY_VERSION}")
    spec = string()
    take("<I")  # spec revision
    variables = {}
    for _ in range(take("<I")):
        name = string()
        shape = [take("<I") for _ in range(take("<B"))]
        dtype_id = take("<B")
        nbytes = take("<I")
        if dtype_id not in CT2_DTYPES:
            raise ConversionError(f"{path}: variable {name} has unsupported dtype id {dtype_id}")
        dtype = np.dtype(CT2_DTYPES[dtype_id]).newbyteorder("<")
        array = np.frombuffer(data, dtype=dtype, count=nbytes // dtype.itemsize, offset=pos)
        pos += nbytes
        variables[name] = array.reshape(shape) if shape else array
    for _ in range(take("<I")):
        alias, target = string(), string()
        variables[alias] = variables[target]
    if pos != len(data):
        raise ConversionError(f"{path}: {len(data) - pos} trailing bytes after the variables")
    return spec, variables


def hz_to_mel(freq):
    """Slaney's mel scale: linear below 1 kHz, logarithmic above (librosa, htk=False)."""
    freq = np.asanyarray(freq, dtype=np.float64)
    f_sp = 200.0 / 3
    mels = freq / f_sp
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(freq >= min_log_hz, min_log_mel + np.log(np.maximum(freq, min_log_hz) / min_log_hz) / logstep, mels)


def mel_to_hz(mels):
    mels = np.asanyarray(mels, dtype=np.float64)
    f_sp = 200.0 / 3
    freqs = f_sp * mels
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(mels >= min_log_mel, min_log_hz * np.exp(logstep * (mels - min_log_mel)), freqs)


def mel_filters(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=80):
    """librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels) as float32 [n_mels, 1 + n_fft/2]."""
    fft_freqs = np.linspace(0, sr / 2, 1 + n_fft // 2)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2.0), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fft_freqs)
    weights = np.zeros((n_mels, len(fft_freqs)), dtype=np.float64)
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels]))[:, np.newaxis]
    return weights.astype(np.float32)


def gpt2_unicode_to_byte():
    """Inverse of GPT-2's bytes_to_unicode: printable stand-in character -> byte."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    table = {chr(b): b for b in printable}
    n = 0
    for b in range(256):
        if b not in printable:
            table[chr(256 + n)] = b
            n += 1
    return table


def read_vocabulary(path):
    """The regular BPE tokens (those before <|endoftext|>) as raw bytes, by id."""
    lines = Path(path).read_text(encoding="utf-8").split("\n")
    to_byte = gpt2_unicode_to_byte()
    tokens = []
    for token in lines:
        if token == "<|endoftext|>":
            return tokens
        try:
            tokens.append(bytes(to_byte[c] for c in token))
        except KeyError as e:
            raise ConversionError(f"{path}: token {len(tokens)} {token!r} is not byte-level BPE ({e})") from e
    raise ConversionError(f"{path}: no <|endoftext|> token")


def count_layers(variables, prefix):
    n = 0
    while f"{prefix}/layer_{n}/ffn/linear_0/weight" in variables:
        n += 1
    return n


def split_rows(array, parts, what):
    if array.shape[0] % parts:
        raise ConversionError(f"{what}: {array.shape[0]} rows do not split in {parts}")
    return np.split(array, parts, axis=0)


def openai_tensors(variables):
    """(name, array) in OpenAI's state-dict naming and order, fused projections split."""
    tensors = []

    def add(name, array):
        tensors.append((name, array))

    def linear(dst, src, bias=True):
        add(f"{dst}.weight", variables[f"{src}/weight"])
        if bias:
            add(f"{dst}.bias", variables[f"{src}/bias"])

    def norm(dst, src):
        add(f"{dst}.weight", variables[f"{src}/gamma"])
        add(f"{dst}.bias", variables[f"{src}/beta"])

    def fused(dst_prefix, names, src):
        weights = split_rows(variables[f"{src}/weight"], len(names), src)
        biases = split_rows(variables[f"{src}/bias"], len(names), src)
        for name, weight, bias in zip(names, weights, biases):
            add(f"{dst_prefix}.{name}.weight", weight)
            if name == "key":
                if np.any(bias != 0):
                    raise ConversionError(f"{src}: the key projection has a non-zero bias; Whisper's has none")
            else:
                add(f"{dst_prefix}.{name}.bias", bias)

    add("encoder.positional_embedding", variables["encoder/position_encodings/encodings"])
    linear("encoder.conv1", "encoder/conv1")
    linear("encoder.conv2", "encoder/conv2")
    for i in range(count_layers(variables, "encoder")):
        src, dst = f"encoder/layer_{i}", f"encoder.blocks.{i}"
        fused(f"{dst}.attn", ["query", "key", "value"], f"{src}/self_attention/linear_0")
        linear(f"{dst}.attn.out", f"{src}/self_attention/linear_1")
        norm(f"{dst}.attn_ln", f"{src}/self_attention/layer_norm")
        linear(f"{dst}.mlp.0", f"{src}/ffn/linear_0")
        linear(f"{dst}.mlp.2", f"{src}/ffn/linear_1")
        norm(f"{dst}.mlp_ln", f"{src}/ffn/layer_norm")
    norm("encoder.ln_post", "encoder/layer_norm")

    add("decoder.positional_embedding", variables["decoder/position_encodings/encodings"])
    add("decoder.token_embedding.weight", variables["decoder/embeddings/weight"])
    for i in range(count_layers(variables, "decoder")):
        src, dst = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        fused(f"{dst}.attn", ["query", "key", "value"], f"{src}/self_attention/linear_0")
        linear(f"{dst}.attn.out", f"{src}/self_attention/linear_1")
        norm(f"{dst}.attn_ln", f"{src}/self_attention/layer_norm")
        linear(f"{dst}.cross_attn.query", f"{src}/attention/linear_0")
        fused(f"{dst}.cross_attn", ["key", "value"], f"{src}/attention/linear_1")
        linear(f"{dst}.cross_attn.out", f"{src}/attention/linear_2")
        norm(f"{dst}.cross_attn_ln", f"{src}/attention/layer_norm")
        linear(f"{dst}.mlp.0", f"{src}/ffn/linear_0")
        linear(f"{dst}.mlp.2", f"{src}/ffn/linear_1")
        norm(f"{dst}.mlp_ln", f"{src}/ffn/layer_norm")
    norm("decoder.ln", "decoder/layer_norm")
    return tensors


def scalar(variables, name):
    return int(np.asarray(variables[name]).reshape(-1)[0])


def hparams(variables):
    embeddings = variables["decoder/embeddings/weight"]
    audio_pe = variables["encoder/position_encodings/encodings"]
    text_pe = variables["decoder/position_encodings/encodings"]
    return [
        embeddings.shape[0],  # n_vocab
        audio_pe.shape[0],  # n_audio_ctx
        audio_pe.shape[1],  # n_audio_state
        scalar(variables, "encoder/num_heads"),
        count_layers(variables, "encoder"),
        text_pe.shape[0],  # n_text_ctx
        text_pe.shape[1],  # n_text_state
        scalar(variables, "decoder/num_heads"),
        count_layers(variables, "decoder"),
        variables["encoder/conv1/weight"].shape[1],  # n_mels
        1,  # ftype: float16 matrices
    ]


def write_ggml(out, variables, tokens):
    params = hparams(variables)
    filters = mel_filters(n_mels=params[9])
    out.write(struct.pack("<i", GGML_MAGIC))
    out.write(struct.pack("<11i", *params))
    out.write(struct.pack("<ii", *filters.shape))
    out.write(filters.astype("<f4").tobytes())
    out.write(struct.pack("<i", len(tokens)))
    for token in tokens:
        out.write(struct.pack("<i", len(token)))
        out.write(token)
    for name, array in openai_tensors(variables):
        array = np.asarray(array)
        if name in ("encoder.conv1.bias", "encoder.conv2.bias"):
            array = array.reshape(array.shape[0], 1)
        keep_f16 = array.ndim >= 2 and name not in (
            "encoder.conv1.bias",
            "encoder.conv2.bias",
            "encoder.positional_embedding",
            "decoder.positional_embedding",
        )
        array = array.astype("<f2" if keep_f16 else "<f4")
        encoded = name.encode("utf-8")
        out.write(struct.pack("<iii", array.ndim, len(encoded), 1 if keep_f16 else 0))
        out.write(struct.pack(f"<{array.ndim}i", *reversed(array.shape)))
        out.write(encoded)
        out.write(np.ascontiguousarray(array).tobytes())


def convert(ct2_dir, out_path):
    ct2_dir, out_path = Path(ct2_dir), Path(out_path)
    spec, variables = read_ct2(ct2_dir / "model.bin")
    if spec != "WhisperSpec":
        raise ConversionError(f"{ct2_dir}/model.bin holds a {spec}, not a WhisperSpec")
    tokens = read_vocabulary(ct2_dir / "vocabulary.txt")
    tmp = out_path.with_name(out_path.name + ".tmp")
    with open(tmp, "wb") as out:
        write_ggml(out, variables, tokens)
    tmp.replace(out_path)


def main(argv):
    if len(argv) != 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    try:
        convert(argv[1], argv[2])
    except (ConversionError, KeyError, OSError) as e:
        print(f"ct2_to_ggml: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
