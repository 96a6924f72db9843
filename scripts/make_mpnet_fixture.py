#!/usr/bin/env python3
"""Regenerate tests/fixtures/mpnet/expected.npy: the reference vectors for the Rust MPNet.

Computes, with sentence-transformers (the reference implementation), the all-mpnet-base-v2
embedding of every sentence in tests/fixtures/mpnet/sentences.json (mean pooling over
non-padding tokens, L2-normalised, max 384 tokens) and stores them as float32 [N, 768].

Usage (needs torch and sentence-transformers from PyPI, and the model folder that
scripts/fetch_model.py prints):
    python3 scripts/make_mpnet_fixture.py "$(scripts/fetch_model.py)"
"""
import json
import os
import sys

import numpy as np
from sentence_transformers import SentenceTransformer

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "mpnet")
model_dir = sys.argv[1]
sentences = json.load(open(os.path.join(here, "sentences.json"), encoding="utf-8"))
model = SentenceTransformer(model_dir, device="cpu")
assert model.max_seq_length == 384, model.max_seq_length
vectors = model.encode(sentences, batch_size=8, normalize_embeddings=True, convert_to_numpy=True)
tokens = [len(model.tokenizer(s, truncation=False)["input_ids"]) for s in sentences]
assert max(tokens) > 384, "the fixture must hold one text longer than 384 tokens"
np.save(os.path.join(here, "expected.npy"), vectors.astype(np.float32))
print(f"{len(sentences)} sentences, token counts {tokens}, wrote expected.npy {vectors.shape}")
