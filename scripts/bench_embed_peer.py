"""The Python peer of `scripts/bench-embed.sh`: the earlier embedding service rebuilt.

A FastAPI app whose async `/embed_text` handler calls `SentenceTransformer.encode` on
the request's text (blocking the event loop, as the earlier service did), served by
one uvicorn worker, on the same all-MiniLM-L6-v2 folder the runtime loads; torch on
the CPU with BENCH_TORCH_THREADS threads (default 2). `/readyz` answers once the
model is loaded. Run: python bench_embed_peer.py MODEL_DIR PORT
"""

import os
import sys
import uuid

import torch
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel
from sentence_transformers import SentenceTransformer

MODEL_DIR, PORT = sys.argv[1], int(sys.argv[2])
torch.set_num_threads(int(os.environ.get("BENCH_TORCH_THREADS", "2")))
model = SentenceTransformer(MODEL_DIR, device="cpu")
model.encode("Warm up with one real sentence.")

app = FastAPI()


class EmbedTextRequest(BaseModel):
    text: str
    model: str = "default"


@app.get("/readyz")
async def readyz():
    return {"status": "ready", "models": ["all-minilm-l6-v2"]}


@app.post("/embed_text")
async def embed_text(req: EmbedTextRequest):
    vector = model.encode(req.text)
    return {
        "embedding": vector.tolist(),
        "dimension": len(vector),
        "model": "all-minilm-l6-v2",
        "embedding_id": str(uuid.uuid4()),
        "persisted": False,
    }


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=PORT, workers=1, log_level="warning")
