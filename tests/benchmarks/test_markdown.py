"""benchmarks/README.md's generator (sans-I/O): ratio comparison against a baseline, the marker block, the CLI's
one-line refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tradingmcp.benchmarks import markdown as md
from tradingmcp.benchmarks.cli import main


def _run(p50_ratio: float, p99_ratio: float) -> dict[str, Any]:
    def row(count: int, p50: float, p99: float, r50: float, r99: float) -> dict[str, Any]:
        return {"summary": {"count": count, "p50_us": p50, "p99_us": p99}, "p50_ratio": r50, "p99_ratio": r99}

    return {
        "placement": "split",
        "roundtrip": {
            "tcp-floor": row(100, 80.0, 140.0, 1.0, 1.0),
            "mcp-ws-picows": row(100, 80.0 * p50_ratio, 140.0 * p99_ratio, p50_ratio, p99_ratio),
        },
        "roundtrip_placements": {"same": {"tcp-floor": row(100, 10.0, 12.0, 1.0, 1.0)}},
    }


def test_a_ratio_that_grew_beyond_the_tolerance_is_flagged_and_an_improvement_is_not() -> None:
    base, new = _run(1.20, 1.50), _run(1.38, 1.20)  # p50 ratio +15 %, p99 ratio -20 %
    changes = {c.percentile: c for c in md.compare_rows(base, new, tolerance=0.10)}
    assert set(changes) == {"p50", "p99"}  # the floor and the floor-only placement are not compared
    assert changes["p50"].change == pytest.approx(0.15) and not changes["p50"].within
    assert changes["p99"].change == pytest.approx(-0.20) and changes["p99"].within
    text = md.compare_markdown(list(changes.values()), 0.10)
    assert "1 of 2 ratios grew more than 10%: split/mcp-ws-picows p50." in text
    assert md.compare_rows(base, new, tolerance=0.16)[0].within  # the tolerance is the caller's


def test_the_block_between_the_markers_is_replaced_and_nothing_else() -> None:
    readme = f"intro\n{md.BEGIN}\nstale\n{md.END}\noutro\n"
    assert md.replace_block(readme, "fresh\n") == f"intro\n{md.BEGIN}\nfresh\n{md.END}\noutro\n"
    with pytest.raises(md.MarkersNotFoundError):
        md.replace_block("no markers here", "x")
    with pytest.raises(md.MarkersNotFoundError):
        md.replace_block(f"{md.END}\n{md.BEGIN}\n", "x")


def test_the_readme_command_refuses_bad_input_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["readme"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    missing = tmp_path / "nope.json"
    assert main(["readme", "--wire", str(missing), "--readme", str(tmp_path / "R.md")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nope.json" in err and "Traceback" not in err
    run = tmp_path / "run.json"
    run.write_text('{"placement": "split", "roundtrip": {}}', encoding="utf-8")
    unmarked = tmp_path / "R.md"
    unmarked.write_text("prose only\n", encoding="utf-8")
    assert main(["readme", "--wire", str(run), "--readme", str(unmarked)]) == 2
    assert "bench:begin" in capsys.readouterr().err
    assert unmarked.read_text(encoding="utf-8") == "prose only\n"  # nothing written on a refusal


def test_the_control_comparison_cancels_a_floor_that_ran_faster_by_chance() -> None:
    def run(scale: float) -> dict[str, Any]:
        doc = _run(1.20 * scale, 1.50)
        doc["roundtrip"][md.CONTROL] = {
            "summary": {"count": 100, "p50_us": 1.0, "p99_us": 1.0},
            "p50_ratio": 1.10 * scale,
        }
        return doc

    changes = {(c.scenario, c.percentile): c for c in md.compare_rows(run(1.0), run(1.2))}
    ours = changes[("mcp-ws-picows", "p50")]
    assert ours.change == pytest.approx(0.20) and not ours.within  # against the floor: flagged
    assert ours.control_change == pytest.approx(0.0, abs=1e-9)  # against the control: no change
    assert changes[(md.CONTROL, "p50")].control_change is None
    text = md.compare_markdown(list(changes.values()))
    assert f"Against {md.CONTROL} (same run, same placement), 0 of 1 p50 ratios grew more than 10%." in text
