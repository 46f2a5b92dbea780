"""The README's measured sections are generated from benchmarks/results, never edited by hand."""

from pathlib import Path

from benchmarks.readme_sections import SECTIONS, render

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_sections_match_the_recorded_results():
    text = README.read_text()
    assert all(f"<!-- {name}:start -->" in text for name in SECTIONS)
    assert render(text) == text, "README is out of date: run python -m benchmarks.readme_sections"
