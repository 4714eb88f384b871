"""Train a small classifier on two interleaved spirals and record it for `lrtui watch`.

The data is made here (no downloads). Runs on CPU or CUDA. In another terminal or tmux pane:

    lrtui watch runs/

    python examples/train_with_recorder.py --log-dir runs --epochs 30

Each call writes a new file (spirals.jsonl, spirals-2.jsonl, ...), so several schedules can be
trained one after another, or at once, and watched side by side.
"""

from __future__ import annotations

import argparse
import math

import torch
from torch import nn

from lrtui import RunRecorder


def spirals(n: int, noise: float, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Two spirals of n points each, labelled 0 and 1."""
    t = torch.rand(n, generator=gen) * 3 * math.pi + 0.5
    arms = []
    for label, phase in ((0, 0.0), (1, math.pi)):
        x = torch.stack([t * torch.cos(t + phase), t * torch.sin(t + phase)], dim=1) / 5
        x += noise * torch.randn(n, 2, generator=gen)
        arms.append((x, torch.full((n,), label)))
    return torch.cat([a[0] for a in arms]), torch.cat([a[1] for a in arms])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--log-dir", default="runs")
    p.add_argument("--name", default="spirals")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.05, help="OneCycleLR's peak LR")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    gen = torch.Generator().manual_seed(args.seed)
    x, y = spirals(2000, 0.05, gen)
    x, y = x.to(args.device), y.to(args.device)
    torch.manual_seed(args.seed)
    model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2)).to(
        args.device
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    batches = math.ceil(len(x) / args.batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=args.lr, total_steps=args.epochs * batches
    )
    loss_fn = nn.CrossEntropyLoss()

    spec = f"OneCycleLR(max_lr={args.lr}) · AdamW · per batch"
    with RunRecorder(
        args.log_dir,
        args.name,
        spec=spec,
        total_steps=args.epochs * batches,
        epochs=args.epochs,
        batches=batches,
        # shown as "what differs" when several recorded runs are compared in `lrtui watch`
        config={"scheduler": "OneCycleLR", "max_lr": args.lr, "optimizer": "AdamW", "seed": args.seed},
    ) as rec:
        print(f"recording to {rec.path}")
        step = 0
        for epoch in range(1, args.epochs + 1):
            order = torch.randperm(len(x), generator=gen).to(args.device)
            for i in range(batches):
                idx = order[i * args.batch_size : (i + 1) * args.batch_size]
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(model(x[idx]), y[idx])
                loss.backward()
                optimizer.step()
                step += 1
                rec.log_step(step, optimizer, loss, epoch=epoch)  # loss stays a tensor: no sync here
                scheduler.step()
        rec.finish("done")
    with torch.no_grad():
        accuracy = (model(x).argmax(1) == y).float().mean().item()
    print(f"done: {step} steps, final accuracy {accuracy:.3f}")


if __name__ == "__main__":
    main()
