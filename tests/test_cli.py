from typer.testing import CliRunner

from tests.conftest import make_pairs
from weaksal.cli import app

runner = CliRunner()


def test_data_info_lists_layouts():
    result = runner.invoke(app, ["data", "info"])
    assert result.exit_code == 0
    for name in ("duts-tr", "ecssd", "sod", "rgbd", "voc", "coco", "caps"):
        assert name in result.output


def test_data_check_clean_and_broken(tmp_path):
    make_pairs(tmp_path, "images", "GT", ["a", "b"])
    result = runner.invoke(app, ["data", "check", str(tmp_path), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "no problems found" in result.output
    (tmp_path / "images" / "b.jpg").write_bytes(b"garbage")
    result = runner.invoke(app, ["data", "check", str(tmp_path), "--workers", "1"])
    assert result.exit_code == 1
    assert "b.jpg" in result.output and "1 problem(s) found" in result.output


def test_cli_errors_are_messages_not_tracebacks(tmp_path):
    result = runner.invoke(app, ["data", "check", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "nowhere" in result.output and "Traceback" not in result.output
