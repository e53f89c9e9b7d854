"""The evaluation report (``weaksal eval --out``, ``weaksal report``): ranks, grid, files."""

from __future__ import annotations

import numpy as np
from PIL import Image
from typer.testing import CliRunner

import weaksal
from tests.conftest import disk_mask, make_pairs, save_image
from weaksal.cli import app
from weaksal.data.render import TILE, tile_height
from weaksal.metrics.report_page import disagreement, ranked_table, top_three

SHAPE = (24, 32)  # make_pairs' images


def test_top_three_ranks_distinct_values_and_shares_ties():
    assert top_three([0.9, 0.7, 0.8, 0.6, 0.9], higher=True) == [1, 3, 2, None, 1]
    assert top_three([0.1, 0.3, 0.2, 0.4], higher=False) == [1, 3, 2, None]
    assert top_three([float("nan"), 0.5], higher=True) == [None, 1]


def three_methods(tmp_path):
    """Perfect maps, maps wrong on image c only, and blank maps, for four images."""
    stems = ["a", "b", "c", "d"]
    root = make_pairs(tmp_path / "set", "images", "GT", stems)
    gt = disk_mask()
    for stem in stems:
        save_image(tmp_path / "perfect" / f"{stem}.png", gt)
        save_image(tmp_path / "mostly" / f"{stem}.png", 255 - gt if stem == "c" else gt)
        save_image(tmp_path / "blank" / f"{stem}.png", np.zeros_like(gt))
    pred = ",".join(f"{name}={tmp_path / name}" for name in ("perfect", "mostly", "blank"))
    return root, pred


def test_report_ranks_methods_and_shows_where_they_disagree(tmp_path):
    root, pred = three_methods(tmp_path)
    evaluation = weaksal.evaluate(pred, root)
    methods, datasets, table = ranked_table(evaluation)
    assert methods == ["perfect", "mostly", "blank"] and datasets == ["set"]
    assert table[("perfect", "set", "MAE")] == (0.0, 1)
    assert table[("blank", "set", "MAE")][1] == 3 and table[("mostly", "set", "MAE")][1] == 2
    assert disagreement(evaluation.runs, 1) == ["c"]  # where "mostly" inverts the mask
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["eval", "--pred", pred, "--gt", str(root), "--out",
                                      str(out), "--grid", "2"])  # fmt: skip
    assert result.exit_code == 0, result.output
    page = (out / "report.html").read_text()
    assert evaluation.convention.split(",")[0] in page
    assert page.count("data:image/png;base64,") == 2  # curves and grid embedded: one file
    assert 'class="rank1" style="color:#d01c1c' in page
    markdown = (out / "report.md").read_text()
    assert "| perfect | **1.000**¹" in markdown and "![set](grid_set.png)" in markdown
    grid = np.asarray(Image.open(out / "grid_set.png"))
    row = tile_height(SHAPE)  # each row as tall as its image's aspect gives: no padding bands
    assert grid.shape == (32 + 2 * row, 5 * TILE, 3)  # title row + 2 images; image|GT|3 maps
    first_row = grid[32 : 32 + row]
    # image c first: the "mostly" column shows the inverted disk (bright border, dark centre)
    mostly = first_row[:, 3 * TILE : 4 * TILE, 0].astype(int)
    assert mostly[row // 2, TILE // 2] < 50 and mostly[row // 2 - 60, 5] > 200


def test_report_command_writes_only_the_report(tmp_path):
    root, pred = three_methods(tmp_path)
    out = tmp_path / "report"
    result = CliRunner().invoke(app, ["report", "--pred", pred, "--gt", str(root), "--out",
                                      str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "curves.png", "grid_set.png", "report.html", "report.md"
    ]  # fmt: skip
