"""The README's measured sections are generated from benchmarks/results, never edited by hand."""

from pathlib import Path

from benchmarks.readme_sections import SECTIONS, render

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_sections_match_the_recorded_results():
    text = README.read_text()
    assert all(f"<!-- {name}:start -->" in text for name in SECTIONS)
    assert render(text) == text, "README is out of date: run python -m benchmarks.readme_sections"


def test_peer_gaps_sets_each_variant_beside_its_suite_row(tmp_path, monkeypatch):
    import json

    from benchmarks import readme_sections

    monkeypatch.setattr(readme_sections, "RESULTS", tmp_path)
    assert readme_sections.peer_gaps()[0].startswith("Nothing recorded yet")
    suite = {"protocol": {}, "records": [{"row": "r2r", "psnr": 26.23}]}
    (tmp_path / "suite_cpu.json").write_text(json.dumps(suite))
    variant = {"variant": "r2r_no_bn", "row": "r2r", "what": "no batch norm", "psnr": 26.5, "train_seconds": 80.0,
               "commit": "abc"}  # fmt: skip
    earlier = {**variant, "variant": "r2r_old", "row_psnr": 25.0}  # set beside the row it departed from
    (tmp_path / "suite_variants.json").write_text(json.dumps([variant, earlier]))
    row = {"torch": "2.13.0", "parameters": 556097, "ms_per_step_median": 310.4}
    steps = {"step": "s", "batch": 16, "patch": 48, "rounds": 3, "command": "c", "commit": "d", "device": "cpu",
             "rows": {"ours_dncnn @ ours": row}}  # fmt: skip
    (tmp_path / "peer_step_times.json").write_text(json.dumps([steps]))
    lines = readme_sections.peer_gaps()
    assert "| r2r_no_bn | no batch norm | 26.23 | 26.50 | +0.27 | 80 | `abc` |" in lines
    assert "| r2r_old | no batch norm | 25.00 | 26.50 | +1.50 | 80 | `abc` |" in lines
    assert "| ours_dncnn @ ours | 2.13.0 | 556,097 | 310 |" in lines


def test_real_noise_rows_are_replaced_by_later_runs_at_the_same_patch(tmp_path, monkeypatch):
    import json

    from benchmarks import readme_sections

    monkeypatch.setattr(readme_sections, "RESULTS", tmp_path)
    base = {"stage": "denoise", "row": "n2s", "ssim": 0.9, "commit": "abc", "pd_stride": 1, "pd_stride_inference": 1,
            "r3_passes": 0}  # fmt: skip
    old = {**base, "psnr": 30.0, "steps": 400, "command": "python benchmarks/real_noise.py --steps 400 --patch 80"}
    other_patch = {**base, "psnr": 31.0, "steps": 400, "patch": 225, "batch": 2, "command": "c --patch 225"}
    new = {**base, "psnr": 32.0, "steps": 1500, "patch": 80, "batch": 8, "command": "c --steps 1500 --patch 80"}
    (tmp_path / "real_noise.json").write_text(json.dumps([old, other_patch]))
    assert sum(line.startswith("| n2s |") for line in readme_sections.real_noise()) == 2
    (tmp_path / "real_noise.json").write_text(json.dumps([old, other_patch, new]))
    table = [line for line in readme_sections.real_noise() if line.startswith("| n2s |")]
    assert [line.split(" | ")[2] for line in table] == ["32.00", "31.00"]


def test_inference_variants_are_set_against_the_noisy_input_on_their_own_images(tmp_path, monkeypatch):
    import json

    from benchmarks import readme_sections

    monkeypatch.setattr(readme_sections, "RESULTS", tmp_path)
    assert readme_sections.real_noise_studies()[0].startswith("Nothing recorded yet")
    noisy = {"stage": "denoise", "row": "noisy", "psnr": 36.0, "per_image": {"01": [35.0, 0.9], "02": [37.0, 0.9]}}
    (tmp_path / "real_noise.json").write_text(json.dumps([noisy]))
    base = {"what": "w", "pd_stride": 5, "trained_steps": 1500, "ssim": 0.95, "inference_seconds_per_image": 1.0}
    subset = {**base, "row": "n2s_pd:pd2", "images": 1, "psnr": 36.0, "per_image": {"01": [36.0, 0.95]}}
    whole = {**base, "row": "n2s_pd:pd2", "images": 2, "psnr": 36.5, "per_image": noisy["per_image"]}
    (tmp_path / "real_noise_inference.json").write_text(json.dumps([subset, whole]))
    rows = [line for line in readme_sections.real_noise_studies() if line.startswith("| n2s_pd:pd2 |")]
    assert [line.split(" | ")[5:7] for line in rows] == [["36.50", "+0.50"], ["36.00", "+1.00"]]


def test_data_seed_variants_are_gathered_with_the_row_as_seed_zero(tmp_path, monkeypatch):
    import json

    from benchmarks import readme_sections

    monkeypatch.setattr(readme_sections, "RESULTS", tmp_path)
    # the row has changed since the seeds ran (23.0 now): seed 0 is the row the seeds recorded beside them
    suite = {"protocol": {}, "records": [{"row": "noise2void", "psnr": 23.0}]}
    (tmp_path / "suite_cpu.json").write_text(json.dumps(suite))
    base = {"what": "w", "train_seconds": 1.0, "commit": "c", "row": "noise2void", "row_psnr": 24.0, "row_commit": "r"}
    variants = [{**base, "variant": "noise2void_data_seed1", "psnr": 25.0},
                {**base, "variant": "noise2void_data_seed2", "psnr": 24.5},
                {**base, "variant": "noise2void_device", "psnr": 24.6},
                {**base, "variant": "noise2void_device_data_seed1", "psnr": 24.8}]  # fmt: skip
    (tmp_path / "suite_variants.json").write_text(json.dumps(variants))
    lines = readme_sections.peer_gaps()
    assert (
        "- noise2void on data seeds 0, 1, 2: 24.00, 25.00, 24.50 dB (mean 24.50, range 1.00; seed 0: the row at "
        "`r`, when these ran)"
    ) in lines
    assert "- noise2void_device on data seeds 0, 1: 24.60, 24.80 dB (mean 24.70, range 0.20)" in lines


def test_a_stride_study_row_names_the_setting_it_changed():
    from benchmarks.readme_sections import _changed

    off = "--trainer.limit_val_batches 0 --checkpoint.monitor null"
    assert _changed({"overrides": off}) == "-"
    changed = f"{off} --model.init_args.network.init_args.network.init_args.batch_norm false"
    assert _changed({"overrides": changed}) == "batch_norm false"


def test_correlated_noise_rows_are_set_against_their_own_noisy_input_and_pd_against_no_pd(tmp_path, monkeypatch):
    import json

    from benchmarks import readme_sections

    monkeypatch.setattr(readme_sections, "RESULTS", tmp_path)
    trained = {"stage": "denoise", "steps": 600, "batch": 8, "patch": 80, "ssim": 0.9, "train_seconds": 100}
    records = [
        {"stage": "denoise", "dataset": "s15", "row": "noisy", "psnr": 25.0, "ssim": 0.5},
        {**trained, "dataset": "s15", "row": "n2v", "psnr": 26.0, "pd_stride": 1, "pd_stride_inference": 1},
        {**trained, "dataset": "s15", "row": "n2v_pd", "psnr": 29.5, "pd_stride": 5, "pd_stride_inference": 2},
        {
            **trained,
            "dataset": "s15",
            "row": "n2v",
            "psnr": 27.0,
            "pd_stride": 1,
            "pd_stride_inference": 1,
        },  # later run
    ]
    (tmp_path / "real_noise_correlated.json").write_text(json.dumps(records))
    lines = readme_sections.real_noise_studies()
    rows = [line.split(" | ") for line in lines if line.startswith("| s15 |")]
    assert [(row[1], row[4], row[5]) for row in rows] == [("noisy", "25.00", "+0.00"), ("n2v", "27.00", "+2.00"),
                                                        ("n2v_pd", "29.50", "+4.50")]  # fmt: skip
    assert lines[-1] == "PD against the same method without it: n2v +2.50 dB (s15)."


def test_progress_bar_costs_are_given_in_milliseconds_per_step():
    from benchmarks import readme_sections

    record = {"network": "tiny", "batch": 2, "patch": 16, "device": "cpu", "command": "c", "commit": "abc",
              "median_samples_per_s": {"plain": 2000.0, "train_py": 1000.0, "train_py_lightning_bar": 500.0,
                                       "train_py_no_bar": 1000.0}}  # fmt: skip
    line = readme_sections._progress_bar_costs([record, {"median_samples_per_s": {"plain": 1.0}}])[-1]
    assert "plain loop 1.00; train.py with its bar (redrawn every 0.5 s) 2.00" in line
    assert "Lightning's bar (redrawn every batch) 4.00, with no bar 2.00." in line


def test_suite_reproduction_lists_the_latest_rerun_of_each_row(tmp_path, monkeypatch):
    import json

    from benchmarks import readme_sections
    from benchmarks.suite_reproduce import comparison

    monkeypatch.setattr(readme_sections, "RESULTS", tmp_path)
    assert readme_sections.suite_reproduction()[0].startswith("Nothing recorded yet")
    committed = {"row": "r2r", "psnr": 27.43, "commit": "aaa", "train_seconds": 155.0}
    rerun = {"row": "r2r", "psnr": 27.2, "commit": "bbb", "train_seconds": 150.0, "device": "cpu"}
    records = [comparison(committed, {**rerun, "psnr": 27.0}) | {"command": "c1"},
               comparison(committed, rerun) | {"command": "c2"}]  # fmt: skip
    assert records[1]["difference_db"] == -0.23 and not records[1]["reproduced"]
    (tmp_path / "suite_reproduction.json").write_text(json.dumps(records))
    lines = readme_sections.suite_reproduction()
    assert lines[0].endswith("0 of 1 within 0.1 dB.")
    assert "| r2r | 27.430 | `aaa` | 27.200 | -0.230 | 155 / 150 | `bbb` | cpu |" in lines
    assert lines[-1] == "Made by `c2`."


def test_data_seeds_that_ran_beside_different_rows_leave_seed_zero_out(tmp_path, monkeypatch):
    import json

    from benchmarks import readme_sections

    monkeypatch.setattr(readme_sections, "RESULTS", tmp_path)
    suite = {"protocol": {}, "records": [{"row": "noise2void", "psnr": 23.0}]}
    (tmp_path / "suite_cpu.json").write_text(json.dumps(suite))
    base = {"what": "w", "train_seconds": 1.0, "commit": "c", "row": "noise2void", "row_commit": "r"}
    variants = [{**base, "variant": "noise2void_data_seed1", "psnr": 25.0, "row_psnr": 24.0},
                {**base, "variant": "noise2void_data_seed2", "psnr": 24.5, "row_psnr": 24.2}]  # fmt: skip
    (tmp_path / "suite_variants.json").write_text(json.dumps(variants))
    assert "- noise2void on data seeds 1, 2: 25.00, 24.50 dB (mean 24.75, range 0.50)" in readme_sections.peer_gaps()
