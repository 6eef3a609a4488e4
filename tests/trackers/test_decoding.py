"""Decoding is consistent with the training targets: oracle head outputs give back the true box."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nasvl.tracking.tracker import build_tracker
from tests.trackers.conftest import sample_arch, tiny_supernet
from trackers.geometry import grid_points
from trackers.scar_loss import centerness_target, scar_targets
from trackers.tt_loss import tt_positives


def _crop_box(tracker, box_xywh: np.ndarray) -> tuple[torch.Tensor, float]:  # noqa: ANN001
    """The box as xyxy in the search crop the tracker is about to take, and the crop scale."""
    scale = tracker.search_size / tracker.search_side()
    x, y, w, h = box_xywh
    c = (np.array([x + w / 2, y + h / 2]) - tracker.center) * scale + tracker.search_size / 2
    half = np.array([w, h]) * scale / 2
    return torch.tensor([[*(c - half), *(c + half)]], dtype=torch.float32), scale


@pytest.mark.parametrize("space_file", ["tiny.yaml", "tiny_tt.yaml"])
def test_oracle_outputs_decode_to_the_true_box(space_file: str, synthetic_video) -> None:
    frames, boxes = synthetic_video
    net, space = tiny_supernet(space_file)
    tracker = build_tracker((net, sample_arch(space)), overrides={"window_influence": 0.0})
    tracker.initialize(frames[0], boxes[0])
    plugin, n, stride, size = tracker.plugin, tracker.plugin.score_size(), tracker.plugin.stride, tracker.search_size
    target = boxes[1] + np.array([3.0, -2.0, 0.0, 0.0])  # move the target off the crop centre
    crop_box, scale = _crop_box(tracker, target)

    def oracle(frame: np.ndarray) -> tuple[dict[str, torch.Tensor], float]:
        if space.tracker.name.startswith("vlt_scar"):
            pos, ltrb = scar_targets(crop_box, torch.tensor([False]), n, n, stride, size, plugin.options.positive_ratio)
            cen = centerness_target(ltrb.clamp(min=1e-3)).clamp(1e-4, 1 - 1e-4)
            cls = torch.stack((-5 * pos.float(), 5 * pos.float() - 2.5), dim=1)  # (1, 2, N)
            return {"cls": cls.reshape(1, 2, n, n), "cen": torch.logit(cen).reshape(1, 1, n, n),
                    "ltrb": ltrb.clamp(min=1e-3).reshape(1, n, n, 4).permute(0, 3, 1, 2)}, scale
        pos = tt_positives(crop_box, torch.tensor([False]), n, n, stride, size)
        pts = grid_points(n, n, stride, size)
        dist = ((pts - (crop_box[0, :2] + crop_box[0, 2:]) / 2) ** 2).sum(-1)
        logit = 5 * pos[0].float() - dist / dist.max()  # highest at the centre cell
        box = torch.tensor([[*(crop_box[0, :2] + crop_box[0, 2:]) / 2, *(crop_box[0, 2:] - crop_box[0, :2])]])
        return {"cls": torch.stack((-logit, logit), -1)[None], "box": (box / size).expand(n * n, 4)[None]}, scale

    tracker.search = oracle  # type: ignore[method-assign]
    out, _ = tracker.track(frames[1])
    true_center = target[:2] + target[2:] / 2
    np.testing.assert_allclose(out[:2] + out[2:] / 2, true_center, atol=1.5)
    if "tt" in space_file:
        np.testing.assert_allclose(out[2:], target[2:], atol=0.5)  # TransT takes the box directly
