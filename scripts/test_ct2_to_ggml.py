#!/usr/bin/env python3
"""Unit tests of ct2_to_ggml.py on a small synthetic CTranslate2 Whisper model.

Run: .venv/bin/python scripts/test_ct2_to_ggml.py  (runtime/tests/stt_model.rs runs it
in `make test`; the same test file transcribes a real recording with the real output).
"""

import struct
import sys
import tempfile
import unittest
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ct2_to_ggml as conv  # noqa: E402

D, HEADS, MELS, VOCAB, AUDIO_CTX, TEXT_CTX = 8, 2, 4, 12, 6, 5


def ct2_bytes(variables, aliases):
    """A model.bin as CTranslate2 writes it (binary version 6)."""
    out = bytearray()

    def string(s):
        b = s.encode() + b"\0"
        out.extend(struct.pack("<H", len(b)) + b)

    out.extend(struct.pack("<I", 6))
    string("WhisperSpec")
    out.extend(struct.pack("<II", 3, len(variables)))
    ids = {np.dtype(np.float16): 4, np.dtype(np.int8): 1, np.dtype(np.int16): 2, np.dtype(np.float32): 0}
    for name, array in variables.items():
        string(name)
        out.extend(struct.pack("<B", array.ndim))
        out.extend(struct.pack(f"<{array.ndim}I", *array.shape))
        out.extend(struct.pack("<BI", ids[array.dtype], array.nbytes))
        out.extend(array.astype(array.dtype.newbyteorder("<")).tobytes())
    out.extend(struct.pack("<I", len(aliases)))
    for alias, target in aliases:
        string(alias)
        string(target)
    return bytes(out)


def synthetic_model():
    rng = np.random.default_rng(7)
    v = {}

    def t(name, *shape):
        v[name] = rng.standard_normal(shape).astype(np.float16)

    v["decoder/num_heads"] = np.array(HEADS, dtype=np.int16)
    v["encoder/num_heads"] = np.array(HEADS, dtype=np.int16)
    t("encoder/conv1/weight", D, MELS, 3)
    t("encoder/conv1/bias", D)
    t("encoder/conv2/weight", D, D, 3)
    t("encoder/conv2/bias", D)
    t("encoder/position_encodings/encodings", AUDIO_CTX, D)
    t("decoder/position_encodings/encodings", TEXT_CTX, D)
    t("decoder/embeddings/weight", VOCAB, D)
    for side in ("encoder", "decoder"):
        p = f"{side}/layer_0"
        for norm in ["self_attention", "ffn"] + (["attention"] if side == "decoder" else []):
            t(f"{p}/{norm}/layer_norm/gamma", D)
            t(f"{p}/{norm}/layer_norm/beta", D)
        t(f"{p}/self_attention/linear_0/weight", 3 * D, D)
        t(f"{p}/self_attention/linear_0/bias", 3 * D)
        v[f"{p}/self_attention/linear_0/bias"][D : 2 * D] = 0  # CT2 adds a zero key bias
        t(f"{p}/self_attention/linear_1/weight", D, D)
        t(f"{p}/self_attention/linear_1/bias", D)
        t(f"{p}/ffn/linear_0/weight", 4 * D, D)
        t(f"{p}/ffn/linear_0/bias", 4 * D)
        t(f"{p}/ffn/linear_1/weight", D, 4 * D)
        t(f"{p}/ffn/linear_1/bias", D)
        t(f"{side}/layer_norm/gamma", D)
        t(f"{side}/layer_norm/beta", D)
    p = "decoder/layer_0/attention"
    t(f"{p}/linear_0/weight", D, D)
    t(f"{p}/linear_0/bias", D)
    t(f"{p}/linear_1/weight", 2 * D, D)
    t(f"{p}/linear_1/bias", 2 * D)
    v[f"{p}/linear_1/bias"][:D] = 0
    t(f"{p}/linear_2/weight", D, D)
    t(f"{p}/linear_2/bias", D)
    return v


def read_ggml(data):
    """Parses a ggml Whisper file as whisper.cpp's loader does."""
    pos = 0

    def ints(n):
        nonlocal pos
        values = struct.unpack_from(f"<{n}i", data, pos)
        pos += 4 * n
        return values

    (magic,) = ints(1)
    hparams = ints(11)
    n_mel, n_fft = ints(2)
    filters = np.frombuffer(data, "<f4", n_mel * n_fft, pos).reshape(n_mel, n_fft)
    pos += 4 * n_mel * n_fft
    tokens = []
    for _ in range(ints(1)[0]):
        (n,) = ints(1)
        tokens.append(data[pos : pos + n])
        pos += n
    tensors = {}
    while pos < len(data):
        n_dims, name_len, ftype = ints(3)
        dims = ints(n_dims)
        name = data[pos : pos + name_len].decode()
        pos += name_len
        dtype = "<f2" if ftype == 1 else "<f4"
        count = int(np.prod(dims))
        tensors[name] = (ftype, np.frombuffer(data, dtype, count, pos).reshape(tuple(reversed(dims))))
        pos += count * np.dtype(dtype).itemsize
    return magic, hparams, filters, tokens, tensors


class ConverterTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)
        self.vars = synthetic_model()
        (self.dir / "model.bin").write_bytes(
            ct2_bytes(self.vars, [("decoder/projection/weight", "decoder/embeddings/weight")])
        )
        vocab = ["!", "Ġthe", "Ċ", "Ã©", "<|endoftext|>", "<|startoftranscript|>"]
        (self.dir / "vocabulary.txt").write_text("\n".join(vocab), encoding="utf-8")

    def tearDown(self):
        self.tmp.cleanup()

    def convert(self, name="out.bin"):
        out = self.dir / name
        conv.convert(self.dir, out)
        return out.read_bytes()

    def test_layout_matches_whisper_cpp(self):
        magic, hparams, filters, tokens, tensors = read_ggml(self.convert())
        self.assertEqual(magic, 0x67676D6C)
        self.assertEqual(list(hparams), [VOCAB, AUDIO_CTX, D, HEADS, 1, TEXT_CTX, D, HEADS, 1, MELS, 1])
        self.assertEqual(filters.shape, (MELS, 201))
        # Byte-level BPE stand-ins become raw bytes; special tokens are left out.
        self.assertEqual(tokens, [b"!", b" the", b"\n", "é".encode()])
        expected = {
            "encoder.positional_embedding", "encoder.conv1.weight", "encoder.conv1.bias",
            "encoder.conv2.weight", "encoder.conv2.bias", "encoder.ln_post.weight", "encoder.ln_post.bias",
            "decoder.positional_embedding", "decoder.token_embedding.weight", "decoder.ln.weight", "decoder.ln.bias",
        }
        for side in ("encoder", "decoder"):
            b = f"{side}.blocks.0"
            expected |= {f"{b}.attn.query.weight", f"{b}.attn.query.bias", f"{b}.attn.key.weight",
                         f"{b}.attn.value.weight", f"{b}.attn.value.bias", f"{b}.attn.out.weight",
                         f"{b}.attn.out.bias", f"{b}.attn_ln.weight", f"{b}.attn_ln.bias",
                         f"{b}.mlp.0.weight", f"{b}.mlp.0.bias", f"{b}.mlp.2.weight", f"{b}.mlp.2.bias",
                         f"{b}.mlp_ln.weight", f"{b}.mlp_ln.bias"}
        b = "decoder.blocks.0"
        expected |= {f"{b}.cross_attn.query.weight", f"{b}.cross_attn.query.bias", f"{b}.cross_attn.key.weight",
                     f"{b}.cross_attn.value.weight", f"{b}.cross_attn.value.bias", f"{b}.cross_attn.out.weight",
                     f"{b}.cross_attn.out.bias", f"{b}.cross_attn_ln.weight", f"{b}.cross_attn_ln.bias"}
        self.assertEqual(set(tensors), expected)

    def test_fused_projections_are_split_and_typed(self):
        _, _, _, _, tensors = read_ggml(self.convert())
        qkv = self.vars["encoder/layer_0/self_attention/linear_0/weight"]
        for i, part in enumerate(["query", "key", "value"]):
            ftype, w = tensors[f"encoder.blocks.0.attn.{part}.weight"]
            self.assertEqual(ftype, 1)
            np.testing.assert_array_equal(w, qkv[i * D : (i + 1) * D])
        kv = self.vars["decoder/layer_0/attention/linear_1/weight"]
        np.testing.assert_array_equal(tensors["decoder.blocks.0.cross_attn.key.weight"][1], kv[:D])
        np.testing.assert_array_equal(tensors["decoder.blocks.0.cross_attn.value.weight"][1], kv[D:])
        bias = self.vars["decoder/layer_0/attention/linear_1/bias"][D:]
        ftype, value_bias = tensors["decoder.blocks.0.cross_attn.value.bias"]
        self.assertEqual(ftype, 0)
        np.testing.assert_array_equal(value_bias, bias.astype(np.float32))
        ftype, conv_bias = tensors["encoder.conv1.bias"]
        self.assertEqual((ftype, conv_bias.shape), (0, (D, 1)))
        self.assertEqual(tensors["encoder.conv1.weight"][1].shape, (D, MELS, 3))
        self.assertEqual(tensors["encoder.positional_embedding"][0], 0)

    def test_output_is_deterministic(self):
        self.assertEqual(self.convert("a.bin"), self.convert("b.bin"))

    def test_a_non_zero_key_bias_is_refused(self):
        self.vars["encoder/layer_0/self_attention/linear_0/bias"][D] = 1
        (self.dir / "model.bin").write_bytes(ct2_bytes(self.vars, []))
        with self.assertRaisesRegex(conv.ConversionError, "key projection"):
            self.convert()

    def test_mel_filters_follow_librosa_slaney(self):
        self.assertAlmostEqual(float(conv.hz_to_mel(1000.0)), 15.0)
        self.assertAlmostEqual(float(conv.hz_to_mel(8000.0)), 45.245640471924965, places=9)
        for hz in (0.0, 440.0, 1000.0, 3000.0, 8000.0):
            self.assertAlmostEqual(float(conv.mel_to_hz(conv.hz_to_mel(hz))), hz, places=6)
        f = conv.mel_filters()
        self.assertEqual((f.shape, f.dtype), ((80, 201), np.float32))
        self.assertTrue((f >= 0).all())
        # Slaney normalisation: each triangle has unit area in Hz (40 Hz per bin);
        # checked where the triangles span enough bins for the sum to approximate it.
        areas = f.sum(axis=1) * 40.0
        np.testing.assert_allclose(areas[30:], 1.0, rtol=0.1)
        self.assertAlmostEqual(float(areas[30:].mean()), 1.0, delta=0.01)
        # Peaks rise monotonically with the filter index.
        peaks = f.argmax(axis=1)
        self.assertTrue((np.diff(peaks) >= 0).all() and peaks[-1] > 190)


if __name__ == "__main__":
    unittest.main(verbosity=1)
