#!/usr/bin/env python3
"""Markdown tables of the campaign's run logs (results/campaign/<setting>/<step>/<run>/run.json).

    python3 scripts/campaign_table.py [results/campaign]

Runs that differ only in their seed are one row: best validation cosine as mean ± half the
range over seeds, margins (of that mean) over the best of the three baselines and over ridge
(results/campaign/ridge.json: {"<setting>": value}, from `lvm dataset check`), best epochs,
prediction similarity and retrieval at the best epoch (means), and which rows' seed ranges
meet ("within noise"). A run still going (no retrieval in its log yet) is marked running.
"""
import json
import os
import sys

root = sys.argv[1] if len(sys.argv) > 1 else "results/campaign"
ridge = {}
if os.path.exists(os.path.join(root, "ridge.json")):
    ridge = json.load(open(os.path.join(root, "ridge.json")))


def row_key(c):
    return (c["model"], c["lr"], c.get("warmup", 0), c.get("skip", "none"), c.get("patience", 0), c["epochs"])


def label(c):
    parts = [{"mlp": "MLP", "lstm": "LSTM", "transformer": "Transformer", "linear": "Linear",
              "transformer-infonce": "Transformer-InfoNCE"}[c["model"]], "lr %g" % c["lr"]]
    if c.get("warmup", 0):
        parts.append("warm-up %d" % c["warmup"])
    if c.get("skip", "none") != "none":
        parts.append("skip=" + c["skip"])
    return " · ".join(parts)


for setting in sorted(os.listdir(root)):
    sdir = os.path.join(root, setting)
    if not os.path.isdir(sdir):
        continue
    for step in ("sweep", "full"):
        stepdir = os.path.join(sdir, step)
        if not os.path.isdir(stepdir):
            continue
        groups = {}
        baselines = None
        for run in sorted(os.listdir(stepdir)):
            path = os.path.join(stepdir, run, "run.json")
            if not os.path.exists(path):
                continue
            log = json.load(open(path))
            if not log["epochs"]:
                continue
            baselines = log["baselines"]
            groups.setdefault(row_key(log["config"]), []).append(log)
        if not groups:
            continue
        best_base = max(baselines[k]["mean"] for k in ("copy_last", "mean_context", "train_mean"))
        base_name = max(("copy_last", "mean_context", "train_mean"), key=lambda k: baselines[k]["mean"])
        r = ridge.get(setting)
        first = next(iter(groups.values()))[0]
        c = first["config"]
        print(f"### {setting}, {step}: {c['dataset']}, windows={c.get('windows', 'all')}, "
              f"sample {c['sample'] or 'all'} ({first['train_windows']} train / {first['val_windows']} validation windows)\n")
        print(f"Baselines: copy-last {baselines['copy_last']['mean']:.4f}, mean-of-context "
              f"{baselines['mean_context']['mean']:.4f}, train-mean {baselines['train_mean']['mean']:.4f}"
              + (f", ridge {r:.4f}" if r is not None and step == "full" else "") + "\n")
        rows = []
        for key, logs in groups.items():
            bests = [l["epochs"][l["best_epoch"] - 1] for l in logs if l.get("best_epoch")]
            vals = [b["val"]["mean"] for b in bests]
            mean = sum(vals) / len(vals)
            half = (max(vals) - min(vals)) / 2
            running = [l for l in logs if not l.get("retrieval")]
            rows.append(dict(
                label=label(logs[0]["config"]), params=logs[0]["params"], n=len(logs), mean=mean, half=half,
                lo=min(vals), hi=max(vals),
                epochs="/".join(str(l["best_epoch"]) for l in logs),
                ran="/".join(str(len(l["epochs"])) for l in logs),
                sim=sum(b["prediction_similarity"] for b in bests) / len(bests),
                r1=[l["retrieval"]["at_1"] for l in logs if l.get("retrieval")],
                r10=[l["retrieval"]["at_10"] for l in logs if l.get("retrieval")],
                running=len(running), seeds=",".join(str(l["config"]["seed"]) for l in logs)))
        rows.sort(key=lambda x: -x["mean"])
        ridge_col = r is not None and step == "full"
        print("| rank | run | params | seeds | best val cosine | vs best baseline (%s) |%s best epoch | epochs run | pred. sim. | retrieval @1 / @10 | within noise of |"
              % (base_name.replace("_", "-"), " vs ridge |" if ridge_col else ""))
        print("|---:|---|---:|---|---:|---:|%s---|---|---:|---|---|" % ("---:|" if ridge_col else ""))
        for i, x in enumerate(rows):
            noise = [y["label"] for y in rows if y is not x and y["n"] > 1 and x["n"] > 1
                     and not (y["hi"] < x["lo"] or x["hi"] < y["lo"])]
            ret = ("%.4f / %.4f" % (sum(x["r1"]) / len(x["r1"]), sum(x["r10"]) / len(x["r10"]))) if x["r1"] else "–"
            state = f" ({x['running']} running)" if x["running"] else ""
            val = f"{x['mean']:.4f} ± {x['half']:.4f}" if x["n"] > 1 else f"{x['mean']:.4f}"
            print(f"| {i + 1} | {x['label']}{state} | {x['params']:,} | {x['seeds']} | {val} | {x['mean'] - best_base:+.4f} |"
                  + (f" {x['mean'] - r:+.4f} |" if ridge_col else "")
                  + f" {x['epochs']} | {x['ran']} | {x['sim']:.3f} | {ret} | {', '.join(noise) or '–'} |")
        print()
