#!/usr/bin/env python3
"""Regenerate tests/fixtures/encoders/<name>.npy: reference vectors for the Rust encoders.

Computes, with sentence-transformers (the reference implementation), the embedding of every
sentence in tests/fixtures/encoders/sentences.json by the encoder NAME (all-mpnet-base-v2 or
all-MiniLM-L6-v2: mean pooling over non-padding tokens, L2-normalised, at most the model's
max_seq_length tokens) and stores them as float32 [N, dim].

Usage (needs torch and sentence-transformers from PyPI, and the model folder that
scripts/fetch_model.py prints):
    python3 scripts/make_encoder_fixture.py NAME "$(scripts/fetch_model.py --model NAME)"
"""
import json
import os
import sys

import numpy as np
from sentence_transformers import SentenceTransformer

MAX_TOKENS = {"all-mpnet-base-v2": 384, "all-MiniLM-L6-v2": 256}

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "encoders")
name, model_dir = sys.argv[1], sys.argv[2]
sentences = json.load(open(os.path.join(here, "sentences.json"), encoding="utf-8"))
model = SentenceTransformer(model_dir, device="cpu")
assert model.max_seq_length == MAX_TOKENS[name], model.max_seq_length
vectors = model.encode(sentences, batch_size=8, normalize_embeddings=True, convert_to_numpy=True)
tokens = [len(model.tokenizer(s, truncation=False)["input_ids"]) for s in sentences]
assert max(tokens) > MAX_TOKENS[name], "the fixture must hold one text longer than the limit"
np.save(os.path.join(here, f"{name}.npy"), vectors.astype(np.float32))
print(f"{len(sentences)} sentences, token counts {tokens}, wrote {name}.npy {vectors.shape}")
