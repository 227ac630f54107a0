"""The raw ONNX Runtime ceiling of `scripts/bench-embed.sh`: no HTTP, no queue.

Python onnxruntime on the project's generated graph (models/all-minilm-l6-v2/model.onnx)
with BENCH_ORT_THREADS intra-op threads (default 2), over the benchmark's sentences:
tokenisation, per-batch padding and the graph (which pools and normalises) included.
For each batch size, sentences per second over BENCH_ORT_SECONDS (default 10), with the
intra-op threads spinning while idle (ONNX Runtime's default) and without; the ceiling
is the better of the two (on a machine whose cores other processes share, spinning
threads lose their time slices and halve the throughput of 2 threads). Also
prints the smallest cosine between each sentence batched and alone (must be >= 0.9999).
Run: python bench_embed_ort.py MODEL_DIR SENTENCES_FILE BATCH... ; prints one JSON line.
"""

import json
import os
import pathlib
import sys
import time

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer


def main():
    model_dir, sentences_file = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    batches = [int(b) for b in sys.argv[3:]] or [1, 8, 32]
    threads = int(os.environ.get("BENCH_ORT_THREADS", "2"))
    seconds = float(os.environ.get("BENCH_ORT_SECONDS", "10"))
    sentences = [s for s in sentences_file.read_text().splitlines() if s]
    max_len = json.loads((model_dir / "sentence_bert_config.json").read_text())["max_seq_length"]
    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=max_len)

    def session_with(spinning):
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
        return ort.InferenceSession(str(model_dir / "model.onnx"), options, providers=["CPUExecutionProvider"])

    session = session_with(True)

    def embed(texts):
        enc = tok.encode_batch(texts)
        width = max(len(e.ids) for e in enc)
        ids = np.zeros((len(texts), width), np.int64)
        mask = np.zeros_like(ids)
        for row, e in enumerate(enc):
            ids[row, : len(e.ids)] = e.ids
            mask[row, : len(e.ids)] = 1
        return session.run(["sentence_embedding"], {"input_ids": ids, "attention_mask": mask})[0]

    alone = np.concatenate([embed([s]) for s in sentences])
    together = embed(sentences)
    min_cos = float((alone * together).sum(1).min())
    result = {"threads": threads, "min_cosine_batched_vs_alone": round(min_cos, 6), "batches": []}
    for batch in batches:
        groups = [[sentences[(start + k) % len(sentences)] for k in range(batch)] for start in range(0, len(sentences), batch)]
        row = {"batch": batch}
        for spinning in (True, False):
            session = session_with(spinning)
            embed(groups[0])
            done, i, t0 = 0, 0, time.perf_counter()
            while time.perf_counter() - t0 < seconds:
                embed(groups[i % len(groups)])
                done += batch
                i += 1
            row["spinning" if spinning else "no_spinning"] = round(done / (time.perf_counter() - t0), 1)
        row["sentences_per_s"] = max(row["spinning"], row["no_spinning"])
        result["batches"].append(row)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
