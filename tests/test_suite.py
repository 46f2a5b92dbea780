"""The results suite's code paths end to end (``python -m benchmarks.suite --quick``) on tiny sets: every
row trains or fits, the JSON holds the protocol and one record per row, the figure is written and the
README section between its markers is rewritten from the JSON."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from benchmarks import suite
from tests.fixtures_data import write_standard_root


@pytest.fixture
def tiny_root(tmp_path: Path) -> Path:
    root = write_standard_root(tmp_path / "data")
    rng = np.random.default_rng(0)
    for folder in ("Train400", "BSD68", "Set12"):  # larger than the quick patches (32) and the crop (96)
        for path in (root / folder).glob("*.png"):
            cv2.imwrite(str(path), (rng.random((100, 100)) * 255).astype(np.uint8))
    return root


def test_quick_suite_writes_every_row_the_figure_and_the_readme_section(tiny_root: Path, tmp_path: Path, monkeypatch):
    readme = tmp_path / "README.md"
    readme.write_text("# title\n<!-- results:start -->\nold\n<!-- results:end -->\nafter\n")
    out, figure = tmp_path / "suite.json", tmp_path / "results.png"
    paths = ["--out", str(out), "--figure", str(figure), "--readme", str(readme)]
    suite.main(["--quick", "--data", str(tiny_root), *paths])
    payload = json.loads(out.read_text())
    rows = [record["row"] for record in payload["records"]]
    assert rows == [*suite.REFERENCE, *suite.DATASET_LEVEL, *suite.ZERO_SHOT]
    assert payload["protocol"]["noise_draws"].startswith("fixed")
    by_row = {record["row"]: record for record in payload["records"]}
    assert by_row["r2r"]["noise_draws"] == "fixed" and by_row["r2r_fresh"]["noise_draws"] == "fresh"
    assert all(by_row[row]["steps"] == 3 for row in suite.DATASET_LEVEL)
    assert all(np.isfinite(record["psnr"]) and record["commit"] and record["command"] for record in payload["records"])
    assert by_row["bm3d"]["psnr"] > by_row["noisy"]["psnr"]  # a real denoiser ran
    image = cv2.imread(str(figure))
    assert image is not None and image.shape[1] == 760
    text = readme.read_text()
    assert "old" not in text and "| r2r_fresh |" in text and text.endswith("after\n")
    assert by_row["laine"]["patch"] == 96 and by_row["laine"]["batch"] == 1  # five poolings need larger crops
    # the rows whose method takes any network share one (Noise2Self's experiment has a DnCNN)
    shared = ("supervised", "noise2noise", "noise2self", "neighbor2neighbor")
    assert {by_row[row]["network"] for row in shared} == {"UNet, standardised"}

    # a rerun of one row replaces it and keeps the others; another budget is refused
    before = {record["row"]: record for record in payload["records"]}
    suite.main(["--quick", "--data", str(tiny_root), *paths, "--rows", "noisy"])
    after = json.loads(out.read_text())["records"]
    assert [record["row"] for record in after] == rows
    assert {r["row"]: r for r in after}["laine"] == before["laine"]
    # --rows with no names and --peers: only the peer rows run; a peer without its environment says so
    monkeypatch.setenv("CAREAMICS_PYTHON", str(tmp_path / "missing" / "python"))
    suite.main(["--quick", "--data", str(tiny_root), *paths, "--rows", "--peers", "careamics_n2v"])
    with_peer = {r["row"]: r for r in json.loads(out.read_text())["records"]}
    assert with_peer["careamics_n2v"]["note"].startswith("not run") and with_peer["laine"] == before["laine"]
    with pytest.raises(SystemExit, match="another protocol"):
        suite.main(["--quick", "--steps", "4", "--data", str(tiny_root), *paths, "--rows", "noisy"])


def test_rows_with_a_minimum_patch_keep_the_budget_pixels_per_step():
    budget = {"patch": 48, "batch": 16}
    assert suite.row_patch_and_batch("r2r", budget) == (48, 16)
    assert suite.row_patch_and_batch("laine", budget) == (96, 4)  # 4 x 96^2 == 16 x 48^2
    assert suite.row_patch_and_batch("laine", {"patch": 128, "batch": 4}) == (128, 4)


def test_suite_variants_train_the_row_with_its_overrides(tiny_root: Path, tmp_path: Path):
    from benchmarks import suite_variants

    out = tmp_path / "variants.json"
    suite_variants.main(["r2r_seed1", "r2r_no_bn", "noise2self_dncnn", "--quick", "--data", str(tiny_root),
                         "--out", str(out), "--runs", str(tmp_path / "runs")])  # fmt: skip
    records = {record["variant"]: record for record in json.loads(out.read_text())}
    assert set(records) == {"r2r_seed1", "r2r_no_bn", "noise2self_dncnn"}
    assert records["noise2self_dncnn"]["network"] == "DnCNN, standardised"  # the variant's override comes last
    seed1, no_bn = records["r2r_seed1"], records["r2r_no_bn"]
    assert seed1["row"] == no_bn["row"] == "r2r" and seed1["steps"] == no_bn["steps"] == 3
    assert seed1["overrides"] == "--seed_everything 1" and seed1["inference"] == "mc"
    assert no_bn["parameters"] < seed1["parameters"]  # the batch-norm scales and shifts are gone
    assert all(np.isfinite(record["psnr"]) and record["commit"] for record in records.values())


def test_suite_variants_say_why_a_table_at_another_budget_gives_no_row_figures(tmp_path: Path):
    from benchmarks.suite_variants import suite_rows

    said: list[str] = []
    table = tmp_path / "suite_cpu.json"
    assert suite_rows(table, suite.QUICK, said.append) == {} and "no suite table" in said[-1]
    table.write_text(json.dumps({"protocol": suite.protocol(suite.FULL), "records": [{"row": "r2r", "psnr": 27.0}]}))
    assert suite_rows(table, suite.QUICK, said.append) == {} and "another budget" in said[-1]
    assert suite_rows(table, suite.FULL, said.append) == {"r2r": {"row": "r2r", "psnr": 27.0}} and len(said) == 2


def test_append_records_takes_a_results_name_or_a_json_path(tmp_path: Path, monkeypatch):
    from benchmarks import common

    monkeypatch.setattr(common, "RESULTS", tmp_path / "results")
    named = common.append_records("speed", [{"a": 1}])
    assert named == tmp_path / "results" / "speed.json"
    path = tmp_path / "elsewhere.json"
    common.append_records(path, [{"a": 1}])
    assert common.append_records(str(path), [{"b": 2}]) == path
    assert json.loads(path.read_text()) == [{"a": 1}, {"b": 2}] and json.loads(named.read_text()) == [{"a": 1}]


def test_a_peer_variant_trains_on_its_data_seeds_noisy_images(tiny_root: Path, tmp_path: Path, monkeypatch):
    """The peer's inputs are the fixed noisy training images of the variant's data seed (not seed 0's),
    the test images stay the suite's, and a peer without its environment gets a record saying so."""
    from benchmarks import suite_variants
    from benchmarks.peers.exchange import read_inputs
    from benchmarks.peers.rows import write_suite_inputs

    monkeypatch.setenv("CAREAMICS_PYTHON", str(tmp_path / "missing" / "python"))
    out = tmp_path / "variants.json"
    runs = tmp_path / "runs"
    suite_variants.main(["careamics_n2v_data_seed1", "--quick", "--data", str(tiny_root), "--out", str(out),
                         "--runs", str(runs)])  # fmt: skip
    (record,) = json.loads(out.read_text())
    assert record["variant"] == "careamics_n2v_data_seed1" and record["note"].startswith("not run")
    written = runs / "careamics_n2v_data_seed1" / "inputs.npz"
    seed1_train, seed1_test, _ = read_inputs(written)
    quick = suite.Suite(dict(suite.QUICK), tiny_root, tmp_path / "unused.json", None, tmp_path)
    write_suite_inputs(tmp_path / "seed0.npz", tiny_root, quick.test_data().datasets["test"], suite.SIGMA)
    seed0_train, seed0_test, _ = read_inputs(tmp_path / "seed0.npz")
    assert seed1_train.shape == seed0_train.shape and not np.allclose(seed1_train, seed0_train)
    assert all(np.array_equal(a, b) for a, b in zip(seed1_test, seed0_test, strict=True))


def test_a_peer_variant_passes_its_options_to_the_peer_script(tiny_root: Path, tmp_path: Path, monkeypatch):
    """deepinv_ne2ne_lr_1e-3: the peer's script gets the variant's learning rate; the record says what ran."""
    from benchmarks import suite_variants

    fake = tmp_path / "python"  # stands in for the peer environment's Python: records its arguments, fails
    fake.write_text(f'#!/bin/sh\necho "$@" > {tmp_path / "argv"}\nexit 1\n')
    fake.chmod(0o755)
    monkeypatch.setenv("DEEPINV_PYTHON", str(fake))
    out = tmp_path / "variants.json"
    suite_variants.main(["deepinv_ne2ne_lr_1e-3", "--quick", "--data", str(tiny_root), "--out", str(out),
                         "--runs", str(tmp_path / "runs")])  # fmt: skip
    argv = (tmp_path / "argv").read_text().split()
    assert argv[argv.index("--lr") + 1] == "0.001" and argv[argv.index("--method") + 1] == "ne2ne"
    (record,) = json.loads(out.read_text())
    assert record["row"] == "deepinv_ne2ne" and "--lr 0.001" in record["overrides"] and "1e-3" in record["what"]


def test_suite_reproduce_reruns_rows_beside_the_committed_table(tiny_root: Path, tmp_path: Path):
    from benchmarks import suite_reproduce

    table = tmp_path / "suite.json"
    suite.main(["--quick", "--data", str(tiny_root), "--out", str(table), "--figure", str(tmp_path / "f.png"),
                "--rows", "supervised"])  # fmt: skip
    committed = json.loads(table.read_text())
    out, common = tmp_path / "reproduction.json", ["--quick", "--data", str(tiny_root), "--table", str(table)]
    records = suite_reproduce.main(["supervised", *common, "--out", str(out), "--runs", str(tmp_path / "runs")])
    assert json.loads(out.read_text()) == records and [r["row"] for r in records] == ["supervised"]
    record = records[0]
    assert record["committed_psnr"] == committed["records"][0]["psnr"] and record["commit"] and record["command"]
    assert record["reproduced"] and abs(record["difference_db"]) <= suite_reproduce.TOLERANCE_DB
    assert json.loads(table.read_text()) == committed  # the committed table is not touched
    with pytest.raises(SystemExit, match="no row noise2void"):
        suite_reproduce.main(["noise2void", *common, "--out", str(out)])
    with pytest.raises(SystemExit, match="another protocol"):
        suite_reproduce.main(["supervised", *common, "--steps", "4", "--out", str(out)])
    second = {**committed, "records": [{**r, "psnr": r["psnr"] + 0.25, "commit": "zzz", "command": "c2"}
                                         for r in committed["records"]]}  # fmt: skip
    (tmp_path / "second.json").write_text(json.dumps(second))
    compared = suite_reproduce.main([*common, "--rerun-table", str(tmp_path / "second.json"), "--out", str(out)])
    assert [r["row"] for r in compared] == ["supervised"] and json.loads(out.read_text())[-1] == compared[0]
    assert compared[0]["difference_db"] == 0.25 and not compared[0]["reproduced"]
    assert (compared[0]["commit"], compared[0]["command"]) == ("zzz", "c2")  # the second run's, not this command's
    with pytest.raises(SystemExit, match="not in both tables: noise2void"):
        suite_reproduce.main(["noise2void", *common, "--rerun-table", str(tmp_path / "second.json"), "--out", str(out)])


def test_suite_selection_scores_candidate_networks_on_the_validation_set(tiny_root: Path, tmp_path: Path):
    from benchmarks import suite_selection

    out = tmp_path / "selection.json"
    records = suite_selection.main(["noise2self:shared", "noise2self:experiment", "--quick", "--data", str(tiny_root),
                                    "--out", str(out), "--runs", str(tmp_path / "runs")])  # fmt: skip
    assert json.loads(out.read_text()) == records
    shared, experiment = records
    assert shared["test_set"] == experiment["test_set"] == "Set12"
    assert shared["images"] == experiment["images"] == min(2, len(list((tiny_root / "Set12").glob("*.png"))))
    assert shared["chosen"] and not experiment["chosen"]
    assert shared["network"] == "UNet, standardised" and experiment["network"] == "DnCNN, standardised"
    assert all(np.isfinite(r["psnr"]) and r["commit"] and r["command"] for r in records)


def test_variants_and_candidates_default_to_all_of_them():
    from benchmarks import suite_selection, suite_variants

    assert suite_variants.arguments([]).variants == list(suite_variants.VARIANTS)
    assert suite_variants.arguments(["r2r_seed1"]).variants == ["r2r_seed1"]
    assert suite_selection.arguments([]).candidates == list(suite_selection.CANDIDATES)
    with pytest.raises(SystemExit):
        suite_selection.arguments(["noise2self:nothing"])
    with pytest.raises(SystemExit):
        suite_variants.arguments(["r2r_nothing"])
