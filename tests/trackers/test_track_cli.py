"""`nasvl track` on an exported tiny tracker and a video folder the test writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nasvl.cli import main
from nasvl.export import save_subnet
from tests.trackers.conftest import sample_arch, tiny_supernet


def _export(tmp_path: Path, space_file: str) -> Path:
    net, space = tiny_supernet(space_file)
    return save_subnet(net.extract(sample_arch(space)), tmp_path / "export")


@pytest.mark.parametrize("space_file", ["tiny.yaml", "tiny_transt.yaml"])
def test_track_writes_one_box_per_frame(tmp_path: Path, video_dir: Path, space_file: str) -> None:
    model = _export(tmp_path, space_file)
    out = tmp_path / "boxes.txt"
    args = ["track", "--model", str(model), "--video", str(video_dir), "--init", "60,40,30,20",
            "--out", str(out), "--language-fallback", "template", "--quiet"]
    assert main(args) == 0
    boxes = np.loadtxt(out, delimiter=",")
    assert boxes.shape == (12, 4) and np.isfinite(boxes).all()
    np.testing.assert_allclose(boxes[0], [60, 40, 30, 20])
    assert main(args) == 2  # never overwritten silently
    assert main([*args, "--force"]) == 0


def test_track_rejects_a_bad_init_box(tmp_path: Path, video_dir: Path, capsys: pytest.CaptureFixture) -> None:
    model = _export(tmp_path, "tiny_siamcar.yaml")
    code = main(["track", "--model", str(model), "--video", str(video_dir), "--init", "1,2,3",
                 "--out", str(tmp_path / "b.txt"), "--quiet"])
    assert code == 2 and "--init must be x,y,w,h" in capsys.readouterr().err


@pytest.mark.slow
def test_track_with_a_real_description(tmp_path: Path, video_dir: Path) -> None:
    """Loads MiniLM (seconds): the description is embedded once and mixed in."""
    model = _export(tmp_path, "tiny.yaml")
    out = tmp_path / "boxes.txt"
    assert main(["track", "--model", str(model), "--video", str(video_dir), "--init", "60,40,30,20",
                 "--text", "a red ellipse moving right", "--out", str(out), "--no-embed-cache", "--quiet"]) == 0
    assert np.isfinite(np.loadtxt(out, delimiter=",")).all()
