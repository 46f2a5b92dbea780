"""Per-step training time of this project's networks and the peers' networks, each under this project's
torch and under the peer environment's torch, in interleaved rounds: it separates what the network
costs from what the torch build costs when a suite row and its peer row train at different speeds.

    python -m benchmarks.peer_step_times                       # 3 rounds, batch 16, 48x48 (the suite's)
    python -m benchmarks.peer_step_times --rounds 5 --steps 20

Each measurement is one run of ``benchmarks/peers/network_step.py`` (forward, MSE, backward, Adam; the
median over its timed steps) in a fresh process; a round runs every (environment, network) pair once,
so the machine's drift spreads over all pairs. A peer environment that is missing is reported as such
(``benchmarks.peers.rows``: ``CAREAMICS_PYTHON``, ``DEEPINV_PYTHON``). Appends to
benchmarks/results/peer_step_times.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

from benchmarks.common import REPO, append_records, commit, device_name
from benchmarks.peers.rows import PEERS, peer_python

SCRIPT = REPO / "benchmarks" / "peers" / "network_step.py"
# environment: (its Python, the networks it times)
PAIRS = {
    "ours": (lambda: sys.executable, ("ours_n2v_unet", "ours_dncnn")),
    "careamics": (lambda: str(peer_python(PEERS["careamics_n2v"])), ("ours_n2v_unet", "careamics_unet")),
    "deepinv": (lambda: str(peer_python(PEERS["deepinv_r2r"])), ("ours_dncnn", "deepinv_dncnn")),
}


def measure(python: str, network: str, args) -> dict:
    command = [python, str(SCRIPT), "--network", network, "--batch", str(args.batch), "--patch", str(args.patch),
               "--steps", str(args.steps), "--warmup", str(args.warmup)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name, default in (("rounds", 3), ("batch", 16), ("patch", 48), ("steps", 10), ("warmup", 3)):
        parser.add_argument(f"--{name}", type=int, default=default)
    parser.add_argument("--output", default="peer_step_times", help="results name in benchmarks/results/")
    args = parser.parse_args(argv)
    pairs = [(env, python(), network) for env, (python, networks) in PAIRS.items() for network in networks]
    missing = sorted({env for env, python, _ in pairs if not Path(python).exists()})
    pairs = [pair for pair in pairs if pair[0] not in missing]
    medians: dict[str, list[float]] = {}
    found: dict[str, dict] = {}
    for round_index in range(args.rounds):
        for env, python, network in pairs:
            result = measure(python, network, args)
            key = f"{network} @ {env}"
            medians.setdefault(key, []).append(statistics.median(result["seconds"]) * 1000)
            found[key] = {"torch": result["torch"], "threads": result["threads"], "parameters": result["parameters"]}
            print(f"round {round_index + 1}/{args.rounds} {key} (torch {result['torch']}): "
                  f"{medians[key][-1]:.1f} ms/step", flush=True)  # fmt: skip
    rows = {key: {**found[key], "ms_per_step_rounds": [round(v, 1) for v in values],
                  "ms_per_step_median": round(statistics.median(values), 1)}
            for key, values in medians.items()}  # fmt: skip
    record = {
        "benchmark": "peer_step_times", "batch": args.batch, "patch": args.patch, "steps": args.steps,
        "warmup": args.warmup, "rounds": args.rounds, "step": "forward, MSE loss, backward, Adam (one process per run)",
        "rows": rows, "missing_environments": missing, "device": device_name(), "commit": commit(),
        "command": "python -m benchmarks.peer_step_times " + " ".join(sys.argv[1:]),
    }  # fmt: skip
    append_records(args.output, [record])
    return record


if __name__ == "__main__":
    main()
