"""Read an offline W&B run file (``run-<id>.wandb``) back, to check what a run really logged.

The file is a LevelDB-style log (32 KiB blocks, each record chunk with a 7-byte header: CRC32C,
length, chunk type) of ``wandb_internal_pb2.Record`` protobufs; the reader wandb once shipped in
Python moved to its Go core, so the tests carry this small one.
"""

from __future__ import annotations

import json
import struct
import time
from collections.abc import Iterator
from pathlib import Path

from google.protobuf.message import DecodeError
from wandb.proto import wandb_internal_pb2

BLOCK = 32 * 1024
HEADER = 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def record_payloads(path: Path) -> Iterator[bytes]:
    data = path.read_bytes()
    if data[:4] != b":W&B":
        raise ValueError(f"{path} is not a W&B run file")
    position, pending = HEADER, b""
    while position + HEADER <= len(data):
        left = BLOCK - position % BLOCK
        if left < HEADER:  # block trailer padding
            position += left
            continue
        _, length, kind = struct.unpack("<IHB", data[position : position + HEADER])
        if kind == 0:
            position += left
            continue
        chunk = data[position + HEADER : position + HEADER + length]
        position += HEADER + length
        if kind == FULL:
            yield chunk
        elif kind == FIRST:
            pending = chunk
        elif kind == MIDDLE:
            pending += chunk
        elif kind == LAST:
            yield pending + chunk


def _records(run_file: Path) -> list:
    """The file's records; a record still being written ends the list."""
    records = []
    for payload in record_payloads(run_file):
        record = wandb_internal_pb2.Record()
        try:
            record.ParseFromString(payload)
        except DecodeError:
            break
        records.append(record)
    return records


def read_run(run_dir: Path, timeout: float = 60.0) -> tuple[list[dict], dict]:
    """(history rows, config) of an offline run folder ``offline-run-*``. ``wandb.finish()`` can return
    before wandb's service process has written the run's last records (seen under a loaded CPU), so the
    file is read once it holds the run's ``exit`` record, or after ``timeout`` seconds as it is."""
    history, config = [], {}
    (run_file,) = run_dir.glob("*.wandb")
    deadline = time.monotonic() + timeout
    records = _records(run_file)
    while not any(r.WhichOneof("record_type") == "exit" for r in records) and time.monotonic() < deadline:
        time.sleep(0.2)
        records = _records(run_file)
    for record in records:
        kind = record.WhichOneof("record_type")
        if kind == "history":
            history.append({(i.key or "/".join(i.nested_key)): json.loads(i.value_json) for i in record.history.item})
        elif kind == "config":
            config.update({u.key or "/".join(u.nested_key): json.loads(u.value_json) for u in record.config.update})
    return history, config
