"""The OpenAI-compatible routes through the official `openai` Python client.

Run by runtime/tests/openai_client.rs against a real runtime serving real models:
    python openai_client.py BASE_URL RECORDINGS_DIR
Exits non-zero with the failed check's message.
"""
import re
import sys

import openai

BASE, RECORDINGS = sys.argv[1], sys.argv[2]
client = openai.OpenAI(base_url=f"{BASE}/v1", api_key="unused", max_retries=0, timeout=120)


def words(text):
    return re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split()


def wer(reference, hypothesis):
    ref, hyp = words(reference), words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[len(hyp)] / max(len(ref), 1)


def check(condition, message):
    if not condition:
        sys.exit(f"FAILED: {message}")
    print(f"ok: {message}")


# models.list: every served model with its task.
models = {m.id: m for m in client.models.list().data}
for model_id, task in [
    ("all-minilm-l6-v2", "embedding"),
    ("whisper-tiny-en", "stt"),
    ("piper-en-us-joe-medium", "tts"),
    ("smollm2-135m-instruct", "llm"),
]:
    check(model_id in models and getattr(models[model_id], "task", None) == task,
          f"models.list has {model_id} ({task})")

# embeddings.create: the client's default (base64) and float, equal to /embed_text's.
import json
import math
import urllib.request


def embed_text(text):
    request = urllib.request.Request(f"{BASE}/embed_text", data=json.dumps({"text": text}).encode(),
                                     headers={"content-type": "application/json"})
    return json.load(urllib.request.urlopen(request, timeout=60))["embedding"]


def cosine(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


texts = ["The quick brown fox jumps over the lazy dog.", "Hermes carries messages.", "Milvus stores vectors."]
one = client.embeddings.create(model="all-minilm-l6-v2", input=texts[0])
check(len(one.data) == 1 and len(one.data[0].embedding) == 384
      and cosine(one.data[0].embedding, embed_text(texts[0])) >= 0.9999,
      "embeddings of a string (base64 by default) equal /embed_text's")
check(one.usage.prompt_tokens == one.usage.total_tokens and one.usage.prompt_tokens >= 10,
      f"usage counts real tokens ({one.usage.prompt_tokens})")
three = client.embeddings.create(model="default", input=texts, encoding_format="float", dimensions=384)
check([d.index for d in three.data] == [0, 1, 2], "three inputs keep their order")
check(all(cosine(d.embedding, embed_text(t)) >= 0.9999 for d, t in zip(three.data, texts)),
      "each of three vectors equals /embed_text's")
try:
    client.embeddings.create(model="all-minilm-l6-v2", input="hi", dimensions=512)
    check(False, "other dimensions are refused")
except openai.BadRequestError as e:
    check("384" in e.message and e.body.get("param") == "dimensions", f"dimensions: BadRequestError {e.message!r}")
try:
    client.embeddings.create(model="all-minilm-l6-v2", input=["x"] * 300)
    check(False, "too many inputs are refused")
except openai.BadRequestError as e:
    check("at most 256" in e.message, f"too many inputs: BadRequestError {e.message!r}")

# audio.transcriptions.create on a real recording, in three formats.
reference = open(f"{RECORDINGS}/quick_brown_fox.txt").read()
with open(f"{RECORDINGS}/quick_brown_fox.wav", "rb") as f:
    heard = client.audio.transcriptions.create(model="whisper-1", file=f)
check(wer(reference, heard.text) <= 0.15, f"transcription json WER {wer(reference, heard.text):.2f}: {heard.text!r}")
with open(f"{RECORDINGS}/quick_brown_fox.wav", "rb") as f:
    plain = client.audio.transcriptions.create(model="whisper-1", file=f, response_format="text")
check(isinstance(plain, str) and plain.strip() == heard.text.strip(), f"transcription text: {plain!r}")
with open(f"{RECORDINGS}/quick_brown_fox.wav", "rb") as f:
    verbose = client.audio.transcriptions.create(
        model="whisper-tiny-en", file=f, response_format="verbose_json", language="en")
check(verbose.duration > 1 and verbose.segments and verbose.segments[0].start == 0
      and abs(verbose.segments[-1].end - verbose.duration) < 0.01,
      f"verbose_json duration {verbose.duration:.2f} s, {len(verbose.segments)} segment(s)")

# audio.speech.create -> a WAV that transcribes back.
said = "The quick brown fox jumps over the lazy dog."
speech = client.audio.speech.create(model="tts-1", voice="alloy", input=said, response_format="wav")
wav = speech.content
check(wav[:4] == b"RIFF" and wav[8:12] == b"WAVE", f"speech is a WAV of {len(wav)} bytes")
back = client.audio.transcriptions.create(model="whisper-1", file=("speech.wav", wav, "audio/wav"))
check(wer(said, back.text) <= 0.2, f"speech round trip WER {wer(said, back.text):.2f}: {back.text!r}")
pcm = client.audio.speech.create(model="tts-1", voice="alloy", input=said, response_format="pcm").content
# Piper's noise makes each synthesis a little different in length: compare loosely.
check(pcm[:4] != b"RIFF" and len(pcm) % 2 == 0 and abs(len(pcm) - (len(wav) - 44)) < 0.3 * len(wav),
      f"pcm is 16-bit samples without a header ({len(pcm)} bytes beside the WAV's {len(wav)})")

fast = client.audio.speech.create(model="tts-1", voice="alloy", input=said, response_format="wav", speed=2.0).content
check(len(fast) < 0.7 * len(wav), f"speed 2.0 speaks faster ({len(fast)} bytes against {len(wav)})")
try:
    client.audio.speech.create(model="tts-1", voice="alloy", input="Hi", speed=5.0)
    check(False, "speed outside 0.25..4 is refused")
except openai.BadRequestError as e:
    check(e.body.get("param") == "speed", f"speed 5: BadRequestError {e.message!r}")

# chat.completions.create, plain and streamed, on the local model.
chat = client.chat.completions.create(
    model="smollm2-135m-instruct", max_tokens=8,
    messages=[{"role": "user", "content": "Say hello."}])
check(chat.choices[0].message.content.strip() != "", f"chat: {chat.choices[0].message.content!r}")
pieces = [c.choices[0].delta.content or "" for c in client.chat.completions.create(
    model="smollm2-135m-instruct", max_tokens=8, stream=True,
    messages=[{"role": "user", "content": "Say hello."}]) if c.choices]
check("".join(pieces).strip() != "", f"streamed chat: {''.join(pieces)!r}")

# Errors arrive as the client's typed exceptions, with useful messages.
try:
    with open(f"{RECORDINGS}/hello_world.wav", "rb") as f:
        client.audio.transcriptions.create(model="no-such-model", file=f)
    check(False, "an unknown model is refused")
except openai.BadRequestError as e:
    check("no-such-model" in e.message, f"unknown model: BadRequestError {e.message!r}")
try:
    client.audio.speech.create(model="tts-1", voice="alloy", input="Hi", response_format="mp3")
    check(False, "mp3 is refused")
except openai.BadRequestError as e:
    check("wav or pcm" in e.message and e.body.get("param") == "response_format",
          f"mp3: BadRequestError {e.message!r}")
try:
    client.audio.speech.create(model="tts-1", voice="alloy", input="word " * 1200)
    check(False, "an oversized input is refused")
except openai.APIStatusError as e:
    check(e.status_code == 413 and "5000" in e.message, f"oversized input: {e.status_code} {e.message!r}")
try:
    client.models.retrieve("smollm2-135m-instruct")
    check(False, "a route that does not exist is refused")
except openai.NotFoundError as e:
    check(e.status_code == 404, f"unknown route: NotFoundError {e.status_code}")
print("all OpenAI client checks passed")
