"""Writes the reference speech the runtime's /tts is checked against
(runtime/tests/fixtures/piper_reference_*.wav): the joe voice through piper-tts
(the Piper project's own Python package, PyPI `piper-tts==1.8.0`) with both noise
scales at 0, so the output is deterministic.

Run with the bench's peer venv (scripts/bench-tts.sh creates it):
  ~/.cache/hermes/bench-piper-venv/bin/python scripts/make_reference_speech.py
"""

import json
import wave
from pathlib import Path

from piper import PiperVoice, SynthesisConfig

ROOT = Path(__file__).resolve().parent.parent
VOICE = ROOT / "models/piper-en-us-joe-medium/en_US-joe-medium.onnx"
FIXTURES = ROOT / "runtime/tests/fixtures"
# One sentence each (piper-tts puts no pause between sentences; Hermes does), with
# words whose phonemes Debian's espeak-ng 1.51 and piper-tts's bundled one agree on.
TEXTS = {
    "hello_world": "Hello, world!",
    "chateau": "The château in Paris is old.",
}

voice = PiperVoice.load(str(VOICE))
config = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
index = {}
for name, text in TEXTS.items():
    path = FIXTURES / f"piper_reference_{name}.wav"
    with wave.open(str(path), "wb") as wav:
        voice.synthesize_wav(text, wav, syn_config=config)
    index[name] = {"text": text, "file": path.name}
    print(f"{path.relative_to(ROOT)}: {text!r}")
(FIXTURES / "piper_reference.json").write_text(json.dumps(index, indent=2) + "\n")
