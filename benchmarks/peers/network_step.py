"""Milliseconds per training step of one network (forward, mean-squared loss, backward, Adam) in whichever
Python runs this file: this project's networks (imported from the repository: they need only torch)
and, where the library is installed, the peer's own network of the same method.

    <python> benchmarks/peers/network_step.py --network ours_n2v_unet --batch 16 --patch 48

Prints one JSON line: torch version, network, parameters, the seconds of each timed step. Imports numpy,
torch and, for a peer network, that peer only. ``benchmarks.peer_step_times`` runs it under each
environment in turn.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]


def ours_n2v_unet() -> torch.nn.Module:
    sys.path.insert(0, str(REPO))
    from networks import UNet

    return UNet(1, depth=2, width=96, batch_norm=True, layout="csbdeep", activation="relu")


def ours_dncnn() -> torch.nn.Module:
    sys.path.insert(0, str(REPO))
    from networks import DnCNN

    return DnCNN(1, depth=17, width=64)


def careamics_unet() -> torch.nn.Module:
    from careamics.models.unet import UNet

    return UNet(conv_dims=2, num_classes=1, in_channels=1, depth=2, num_channels_init=96, use_batch_norm=True)


def deepinv_dncnn() -> torch.nn.Module:
    import deepinv

    return deepinv.models.DnCNN(in_channels=1, out_channels=1, depth=17, pretrained=None)


NETWORKS = {"ours_n2v_unet": ours_n2v_unet, "ours_dncnn": ours_dncnn, "careamics_unet": careamics_unet,
            "deepinv_dncnn": deepinv_dncnn}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--network", choices=list(NETWORKS), required=True)
    for name, default in (("batch", 16), ("patch", 48), ("steps", 10), ("warmup", 3)):
        parser.add_argument(f"--{name}", type=int, default=default)
    args = parser.parse_args()
    torch.manual_seed(0)
    network = NETWORKS[args.network]()
    optimizer = torch.optim.Adam(network.parameters(), lr=1e-4)
    noisy = torch.rand(args.batch, 1, args.patch, args.patch)
    target = torch.rand_like(noisy)
    seconds = []
    for step in range(args.warmup + args.steps):
        started = time.perf_counter()
        loss = torch.mean((network(noisy) - target) ** 2)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step >= args.warmup:
            seconds.append(time.perf_counter() - started)
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "network": args.network,
                      "parameters": sum(p.numel() for p in network.parameters()), "seconds": seconds}))  # fmt: skip


if __name__ == "__main__":
    main()
