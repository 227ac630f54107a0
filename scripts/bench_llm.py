"""Decode speed of a chat model, measured the same way for two engines.

  bench_llm.py hermes BASE_URL        the runtime's `local` provider, streamed over
                                      HTTP (/v1/chat/completions, stdlib only)
  bench_llm.py llamacpp GGUF THREADS  llama-cpp-python in process (no HTTP)

Both run the same conversations greedily (temperature 0) with the same system
message and max_tokens, and print one JSON object: per prompt the completion
tokens, time to first token, decode tokens/s (tokens after the first over the
time after the first) and end-to-end tokens/s.
"""

import http.client
import json
import sys
import time
import urllib.parse

SYSTEM = "You are a helpful assistant."
PROMPTS = [
    "Write a short story about a lighthouse keeper.",
    "Explain how a bicycle works to a child.",
    "Describe a walk through a forest in autumn.",
]
MAX_TOKENS = 128
WARM_UP_TOKENS = 8  # one short generation first, not reported


def messages(prompt):
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}]


def summary(runs):
    tokens = sum(r["completion_tokens"] for r in runs)
    decode_tokens = sum(r["completion_tokens"] - 1 for r in runs)
    decode_seconds = sum(r["seconds"] - r["first_token_seconds"] for r in runs)
    return {
        "runs": runs,
        "completion_tokens": tokens,
        "decode_tokens_per_second": decode_tokens / decode_seconds,
        "end_to_end_tokens_per_second": tokens / sum(r["seconds"] for r in runs),
        "mean_first_token_seconds": sum(r["first_token_seconds"] for r in runs) / len(runs),
    }


def hermes(base):
    url = urllib.parse.urlparse(base)
    runs = []
    for prompt, max_tokens in [(PROMPTS[0], WARM_UP_TOKENS)] + [(p, MAX_TOKENS) for p in PROMPTS]:
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=300)
        body = json.dumps({
            "messages": messages(prompt), "temperature": 0, "max_tokens": max_tokens,
            "stream": True, "stream_options": {"include_usage": True},
        })
        start = time.perf_counter()
        conn.request("POST", "/v1/chat/completions", body, {"content-type": "application/json"})
        response = conn.getresponse()
        if response.status != 200:
            raise SystemExit(f"hermes answered {response.status}: {response.read()[:300]!r}")
        first = None
        usage = None
        for line in response:
            line = line.strip()
            if not line.startswith(b"data: ") or line == b"data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if chunk.get("usage"):
                usage = chunk["usage"]
            choices = chunk.get("choices") or [{}]
            if first is None and choices[0].get("delta", {}).get("content"):
                first = time.perf_counter() - start
        seconds = time.perf_counter() - start
        conn.close()
        runs.append({"prompt": prompt, "completion_tokens": usage["completion_tokens"],
                     "prompt_tokens": usage["prompt_tokens"],
                     "first_token_seconds": first, "seconds": seconds})
    return summary(runs[1:])


def llamacpp(gguf, threads):
    from llama_cpp import Llama

    start = time.perf_counter()
    llm = Llama(model_path=gguf, n_ctx=2048, n_threads=threads, n_threads_batch=threads,
                chat_format="chatml", verbose=False)
    load = time.perf_counter() - start
    runs = []
    for prompt, max_tokens in [(PROMPTS[0], WARM_UP_TOKENS)] + [(p, MAX_TOKENS) for p in PROMPTS]:
        start = time.perf_counter()
        first = None
        pieces = 0
        usage = None
        for chunk in llm.create_chat_completion(messages(prompt), temperature=0.0, top_k=1,
                                                max_tokens=max_tokens, stream=True):
            if chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                pieces += 1
                if first is None:
                    first = time.perf_counter() - start
            usage = chunk.get("usage") or usage
        seconds = time.perf_counter() - start
        # llama-cpp-python's stream carries no usage: count one token per piece
        # (it emits a piece per token) plus the end-of-turn token when it stopped.
        tokens = usage["completion_tokens"] if usage else pieces + (1 if pieces < max_tokens else 0)
        runs.append({"prompt": prompt, "completion_tokens": tokens,
                     "first_token_seconds": first, "seconds": seconds})
    result = summary(runs[1:])
    result["load_seconds"] = load
    import llama_cpp
    result["version"] = llama_cpp.__version__
    return result


if __name__ == "__main__":
    if sys.argv[1] == "hermes":
        print(json.dumps(hermes(sys.argv[2])))
    elif sys.argv[1] == "llamacpp":
        print(json.dumps(llamacpp(sys.argv[2], int(sys.argv[3]))))
    else:
        raise SystemExit(__doc__)
