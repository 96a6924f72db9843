#!/usr/bin/env python3
"""The study's four models in PyTorch, timed like `lvm bench`: the reference for our speed.

Same architectures and parameter counts as src/models/ (checked below), same batch sizes,
the same training step (forward, 1 - cosine or InfoNCE loss, backward, Adam) on the same kind
of data (unit vectors). Prints train ms/step and samples/s, inference ms/batch and samples/s.

    python3 -m venv /tmp/torch && /tmp/torch/bin/pip install torch
    /tmp/torch/bin/python scripts/bench_torch.py --threads 1 --steps 20
"""
import argparse
import math
import time

import torch
from torch import nn
import torch.nn.functional as F

DIM, CONTEXT = 768, 5


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(CONTEXT * DIM, 1024), nn.ReLU(), nn.Dropout(0.1), nn.Linear(1024, DIM))

    def forward(self, x):
        return F.normalize(self.net(x.flatten(1)), dim=-1)


def head(d):
    return nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Dropout(0.1), nn.Linear(d, DIM))


class LSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(DIM, 1024, num_layers=2, batch_first=True)
        self.head = head(1024)

    def forward(self, x):
        out, _ = self.lstm(x)
        return F.normalize(self.head(out[:, -1]), dim=-1)


def positions(t, d):
    pos = torch.arange(t).unsqueeze(1)
    div = torch.exp(torch.arange(0, d, 2) * (-math.log(10000.0) / d))
    pe = torch.zeros(t, d)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div)
    return pe


class Transformer(nn.Module):
    def __init__(self, decoder):
        super().__init__()
        self.decoder = decoder
        self.input_proj = nn.Linear(DIM, 512)
        if decoder:
            layer = nn.TransformerDecoderLayer(512, 8, 2048, 0.1, batch_first=True)
            self.stack = nn.TransformerDecoder(layer, 4, norm=nn.LayerNorm(512))
        else:
            layer = nn.TransformerEncoderLayer(512, 8, 2048, 0.1, batch_first=True)
            self.stack = nn.TransformerEncoder(layer, 4, enable_nested_tensor=False)
        self.head = head(512)
        self.register_buffer("pe", positions(CONTEXT, 512))

    def forward(self, x):
        h = self.input_proj(x) + self.pe
        if self.decoder:
            mask = nn.Transformer.generate_square_subsequent_mask(x.shape[1])
            y = self.stack(h, h, tgt_mask=mask, tgt_is_causal=True)
        else:
            y = self.stack(h)
        return F.normalize(self.head(y[:, -1]), dim=-1)


MODELS = {
    # name: (constructor, study params, batch, lr, loss)
    "MLP": (MLP, 4_720_384, 128, 1e-3, "cosine"),
    "LSTM": (LSTM, 17_581_824, 128, 1e-3, "cosine"),
    "Transformer": (lambda: Transformer(False), 13_659_904, 64, 1e-3, "cosine"),
    "Transformer-InfoNCE": (lambda: Transformer(True), 17_867_520, 64, 1e-4, "infonce"),
}


def loss_fn(kind, pred, target):
    if kind == "cosine":
        return (1 - (pred * target).sum(-1)).mean()
    logits = pred @ target.t() / 0.07
    return F.cross_entropy(logits, torch.arange(len(pred)))


def unit(*shape):
    return F.normalize(torch.randn(*shape), dim=-1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--models", default=",".join(MODELS))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, threads: {torch.get_num_threads()}")
    print(f"{'model':<20} {'batch':>6} {'train ms/step':>14} {'train samples/s':>15} {'infer ms/batch':>14} {'infer samples/s':>15}")
    profile = []
    for name in args.models.split(","):
        make, params, batch, lr, kind = MODELS[name]
        model = make()
        count = sum(p.numel() for p in model.parameters())
        assert count == params, f"{name}: {count} parameters, the study has {params}"
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        x, y = unit(batch, CONTEXT, DIM), unit(batch, DIM)
        model.train()

        phases = [0.0, 0.0, 0.0]

        def step():
            t0 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(kind, model(x), y)
            loss.item()
            t1 = time.perf_counter()
            loss.backward()
            t2 = time.perf_counter()
            opt.step()
            t3 = time.perf_counter()
            return t1 - t0, t2 - t1, t3 - t2

        for _ in range(args.warmup):
            step()
        t = time.perf_counter()
        for _ in range(args.steps):
            for k, v in enumerate(step()):
                phases[k] += v
        train = (time.perf_counter() - t) / args.steps
        profile.append((name, [1000 * v / args.steps for v in phases]))
        model.eval()
        with torch.no_grad():
            for _ in range(args.warmup):
                model(x)
            t = time.perf_counter()
            for _ in range(args.steps):
                model(x)
            infer = (time.perf_counter() - t) / args.steps
        print(f"{name:<20} {batch:>6} {1000 * train:>14.1f} {batch / train:>15.0f} {1000 * infer:>14.1f} {batch / infer:>15.0f}")
    print("\nwhere a training step goes (ms per step):")
    print(f"{'model':<20} {'forward+loss':>14} {'backward':>10} {'Adam':>8}")
    for name, (f, b, a) in profile:
        print(f"{name:<20} {f:>14.1f} {b:>10.1f} {a:>8.1f}")


if __name__ == "__main__":
    main()
