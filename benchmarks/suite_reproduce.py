"""Rerun rows of the committed results table and set each beside its committed figure: does a second run
of the suite reproduce it within ``TOLERANCE_DB``?

    python -m benchmarks.suite_reproduce supervised noise2self   # these rows, at the committed budget
    python -m benchmarks.suite_reproduce --rerun-table T2.json     # a whole second suite run, already made
    python -m benchmarks.suite_reproduce --quick --data D --table T --out O.json  # the code path, tiny data

The rows rerun through the suite's own code (``benchmarks.suite.Suite``) into a scratch table under
``runs/``, never into the committed one, on the budget the committed table was written at. Each record
holds both PSNRs, their difference, both commits (the committed row's and this run's: a row changed by
code between them is not a failure to reproduce, and the two commits say which it is), the device and
the command. With ``--rerun-table`` nothing runs: the rows of a table written by a second full run of
``benchmarks.suite`` (for instance from a clean clone, at the same budget) are set beside the committed
ones, each record keeping that run's commit and command. Appends to
benchmarks/results/suite_reproduction.json.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.common import REPO, RESULTS, append_records, shared_data
from benchmarks.suite import (
    DATASET_LEVEL,
    REFERENCE,
    ZERO_SHOT,
    Suite,
    add_budget_arguments,
    budget_from,
    chosen_names,
    table_records,
)

TOLERANCE_DB = 0.1


def committed_rows(table: Path, budget: dict) -> dict[str, dict]:
    """The committed table's records by row, refusing a table written at another budget."""
    records = table_records(table, budget, "pass the budget options that wrote it")
    return {record["row"]: record for record in records}


def comparison(committed: dict, rerun: dict) -> dict:
    difference = rerun["psnr"] - committed["psnr"]
    return {
        "row": rerun["row"], "committed_psnr": committed["psnr"], "committed_commit": committed["commit"],
        "rerun_psnr": rerun["psnr"], "difference_db": round(difference, 3),
        "reproduced": abs(difference) <= TOLERANCE_DB, "tolerance_db": TOLERANCE_DB,
        "committed_train_seconds": committed.get("train_seconds"), "rerun_train_seconds": rerun.get("train_seconds"),
        "commit": rerun["commit"], "device": rerun["device"],
    }  # fmt: skip


def compare_tables(committed: dict[str, dict], rerun: dict[str, dict], rows: list[str], out: Path) -> list[dict]:
    """Each row of ``rows`` (default: every row both tables hold) of the rerun table beside its committed
    record, keeping the rerun's own commit and command; appended to ``out``."""
    unknown = [row for row in rows if row not in committed or row not in rerun]
    if unknown:
        raise SystemExit(f"not in both tables: {', '.join(unknown)}")
    chosen = rows or [row for row in rerun if row in committed]
    records = [comparison(committed[row], rerun[row]) | {"command": rerun[row]["command"]} for row in chosen]
    append_records(out, records)
    for record in records:
        print(f"{record['row']}: committed {record['committed_psnr']:.3f} dB at {record['committed_commit']}, "
              f"rerun {record['rerun_psnr']:.3f} ({record['difference_db']:+.3f}) at {record['commit']}")  # fmt: skip
    return records


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rows", nargs="*", metavar="ROW",
                        help=f"of {', '.join([*REFERENCE, *DATASET_LEVEL, *ZERO_SHOT])}; with --rerun-table, "
                        "default: every row the two tables share")  # fmt: skip
    parser.add_argument(
        "--data", type=Path, help="folder with Train400/, BSD68/, Set12/ (default ./data or ../shared/data)"
    )
    parser.add_argument("--table", type=Path, default=RESULTS / "suite_cpu.json", help="the committed table")
    parser.add_argument("--out", type=Path, default=RESULTS / "suite_reproduction.json", help="results JSON (appended)")
    parser.add_argument("--runs", type=Path, default=REPO / "runs" / "suite_reproduce", help="scratch folder")
    parser.add_argument("--rerun-table", type=Path,
                        help="compare the rows of this table (a second suite run) instead of running any")  # fmt: skip
    add_budget_arguments(parser)
    args = parser.parse_args(argv)
    budget = budget_from(args)
    committed = committed_rows(args.table, budget)
    if args.rerun_table is not None:
        return compare_tables(committed, committed_rows(args.rerun_table, budget), args.rows, args.out)
    args.rows = chosen_names(parser, args.rows, [*REFERENCE, *DATASET_LEVEL, *ZERO_SHOT], [], "row")
    if not args.rows:
        parser.error("name the rows to rerun (or pass --rerun-table)")
    missing = [row for row in args.rows if row not in committed]
    if missing:
        raise SystemExit(f"{args.table} has no row {', '.join(missing)} to reproduce; run the suite for it first")
    scratch = args.runs / "suite.json"
    scratch.unlink(missing_ok=True)
    suite = Suite(budget, args.data or shared_data(), scratch, None, args.runs)
    suite.command = "python -m benchmarks.suite_reproduce " + " ".join(sys.argv[1:] if argv is None else argv)
    suite.run(args.rows)
    records = [comparison(committed[r["row"]], r) | {"command": suite.command} for r in suite.records]
    append_records(args.out, records)
    for record in records:
        suite.log(f"{record['row']}: committed {record['committed_psnr']:.3f} dB at {record['committed_commit']}, "
                  f"rerun {record['rerun_psnr']:.3f} ({record['difference_db']:+.3f})")  # fmt: skip
    return records


if __name__ == "__main__":
    main()
