"""Peer libraries run side by side with this project's suite rows (``python -m benchmarks.suite --peers``).

Each peer runs in its own virtual environment, from a script here that imports only the peer, numpy and
torch: ``deepinv_losses.py`` (DeepInverse's R2R and Neighbor2Neighbor losses), ``careamics_n2v.py``
(CAREamics' Noise2Void). The suite writes the inputs (``exchange.write_inputs``: the fixed noisy
training images and the noisy test images this project's rows use), runs the script with the peer's
Python, and scores its outputs with this project's metric code (``exchange.read_outputs``).

Peer environments (each with a CPU-usable torch the peer accepts):

    python -m venv /work/peers/deepinv && /work/peers/deepinv/bin/pip install deepinv==0.5.0 \\
        torch==2.14.1 torchvision==0.29.1
    python -m venv /work/peers/careamics && /work/peers/careamics/bin/pip install careamics==0.3.5 \\
        torch==2.9.1 torchvision==0.24.1
"""
