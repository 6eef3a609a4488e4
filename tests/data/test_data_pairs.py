"""Training pairs: shapes, box geometry, determinism across workers, mixing, language."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from nasvl.cli import main
from nasvl.config import load_yaml_text
from nasvl.data import Video
from nasvl.data.crops import context_size
from nasvl.data.pairs import PairDataset, PairSource, no_augmentation
from nasvl.data.pairs.augment import NO_AUG
from nasvl.data.pairs.debug import write_pair_grid
from nasvl.data.pairs.mixing import build_pair_dataset, parse_pairs_config
from nasvl.errors import ConfigError, DataError


def _video(root: Path, name: str, n: int = 6, description: str | None = "the red square", colour=(0, 0, 255),
           absent: list[bool] | None = None) -> Video:
    frames, boxes = [], []
    for i in range(n):
        img = np.full((96, 128, 3), 60, np.uint8)
        x, y, w, h = 30 + 3 * i, 20 + 2 * i, 24, 16
        img[y:y + h, x:x + w] = colour
        path = root / name / f"{i:04d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), img)
        frames.append(path)
        boxes.append([x, y, w, h])
    return Video(name=name, frames=frames, boxes=np.asarray(boxes, float),
                 absent=np.asarray(absent if absent is not None else [False] * n),
                 description=description, attributes={}, dataset="test")


@pytest.fixture()
def videos(tmp_path: Path) -> list[Video]:
    return [_video(tmp_path, "a"), _video(tmp_path, "b", description=None, colour=(255, 0, 0))]


def test_item_shapes_and_types(videos: list[Video]) -> None:
    for t, s in ((127, 255), (63, 127)):
        item = PairDataset(videos, seed=0, template_size=t, search_size=s, pairs_per_epoch=4)[0]
        assert item["template"].shape == (3, t, t) and item["template"].dtype == torch.float32
        assert item["search"].shape == (3, s, s) and item["search"].dtype == torch.float32
        assert item["template_box"].shape == (4,) and item["search_box"].dtype == torch.float32
        assert 0 <= float(item["template"].min()) and float(item["template"].max()) <= 255
        assert isinstance(item["text"], str) and item["has_text"] == bool(item["text"])
        assert item["lang_mode"] == "zeros" and isinstance(item["negative"], bool)


def test_unaugmented_template_box_follows_context_half(videos: list[Video]) -> None:
    ds = PairDataset(videos[:1], seed=0, negative_rate=0.0, pairs_per_epoch=8, **no_augmentation())
    item = ds[0]
    scale = 127 / context_size(24, 16)
    x0, y0, x1, y1 = item["template_box"].tolist()
    assert (x0 + x1) / 2 == pytest.approx(63.5) and (y0 + y1) / 2 == pytest.approx(63.5)
    assert x1 - x0 == pytest.approx(24 * scale, rel=1e-5) and y1 - y0 == pytest.approx(16 * scale, rel=1e-5)
    # the search crop keeps the same scale, target centred (no shift) and red in BGR
    sx0, sy0, sx1, sy1 = item["search_box"].tolist()
    assert sx1 - sx0 == pytest.approx(24 * scale, rel=1e-5)
    centre = item["search"][:, 127, 127]
    assert centre[2] > 200 and centre[0] < 50


def test_deterministic_per_seed_and_index(videos: list[Video]) -> None:
    a, b = PairDataset(videos, seed=7, pairs_per_epoch=6), PairDataset(videos, seed=7, pairs_per_epoch=6)
    for i in range(6):
        assert torch.equal(a[i]["search"], b[i]["search"]) and torch.equal(a[i]["template_box"], b[i]["template_box"])
    other = PairDataset(videos, seed=8, pairs_per_epoch=6)
    assert any(not torch.equal(a[i]["search"], other[i]["search"]) for i in range(6))
    a.set_epoch(1)
    assert any(not torch.equal(a[i]["search"], b[i]["search"]) for i in range(6))


def test_multi_worker_dataloader_matches_single_process(videos: list[Video]) -> None:
    ds = PairDataset(videos, seed=3, pairs_per_epoch=8, template_size=63, search_size=127)
    single = list(DataLoader(ds, batch_size=4, num_workers=0))
    multi = list(DataLoader(ds, batch_size=4, num_workers=2, worker_init_fn=PairDataset.worker_init_fn))
    for x, y in zip(single, multi, strict=True):
        assert torch.equal(x["search"], y["search"]) and x["text"] == y["text"]
        assert torch.equal(x["negative"], y["negative"])


def test_negatives_come_from_another_video(tmp_path: Path) -> None:
    red = _video(tmp_path, "red", colour=(0, 0, 255))
    blue = _video(tmp_path, "blue", colour=(255, 0, 0), description="the blue square")
    ds = PairDataset([red, blue], seed=0, negative_rate=1.0, pairs_per_epoch=12, **no_augmentation())
    items = [ds[i] for i in range(12)]
    assert all(it["negative"] for it in items)
    mismatched = [it for it in items if (it["template"][:, 63, 63].argmax() != it["search"][:, 127, 127].argmax())]
    assert mismatched  # some pairs put a different target in the search region
    alone = PairDataset([red], seed=0, negative_rate=1.0, pairs_per_epoch=4)
    assert not any(alone[i]["negative"] for i in range(4))  # no other video: no false negatives


def test_mixing_shares_and_language_modes(tmp_path: Path) -> None:
    vl = PairSource([_video(tmp_path, "vl")], share=0.75, lang_mode="template", name="vl")
    vo = PairSource([_video(tmp_path, "vo", description=None)], share=0.25, lang_mode="zeros", name="vo")
    ds = PairDataset([vl, vo], seed=1, pairs_per_epoch=200, negative_rate=0.0,
                     template_aug=NO_AUG, search_aug=NO_AUG, template_size=31, search_size=63)
    modes = [ds[i]["lang_mode"] for i in range(200)]
    assert 0.6 < modes.count("template") / 200 < 0.9
    off = PairDataset([vl, PairSource(vo.videos, share=0.0)], seed=1, pairs_per_epoch=20, template_size=31,
                      search_size=63)
    assert {off[i]["lang_mode"] for i in range(20)} == {"template"}


def test_absent_frames_are_never_sampled(tmp_path: Path) -> None:
    v = _video(tmp_path, "gone", n=6, absent=[True, True, False, True, True, True])
    ds = PairDataset([v], seed=0, negative_rate=0.0, pairs_per_epoch=10, **no_augmentation())
    for i in range(10):
        assert ds[i]["template_box"][0] == ds[0]["template_box"][0]  # always frame 2
    with pytest.raises(DataError, match="no source has a video with a visible target"):
        PairDataset([_video(tmp_path, "none", n=2, absent=[True, True])])


def test_embeddings_give_lang_vectors(videos: list[Video]) -> None:
    emb = {"the red square": torch.arange(5, dtype=torch.float32)}
    ds = PairDataset(videos, seed=0, pairs_per_epoch=16, embeddings=emb, negative_rate=0.0)
    for i in range(16):
        item = ds[i]
        assert item["lang"].shape == (5,)
        expected = emb["the red square"] if item["has_text"] else torch.zeros(5)
        assert torch.equal(item["lang"], expected)
    with pytest.raises(DataError, match="no cached embedding for description 'the red square'"):
        items = PairDataset(videos, seed=0, pairs_per_epoch=16, embeddings={"x": torch.zeros(5)})
        [items[i] for i in range(16)]


def test_mixing_config_from_yaml(tmp_path: Path) -> None:
    for name in ("a", "b"):
        _video(tmp_path / "vids", name)  # writes frames; add ground truth for the folder reader
        (tmp_path / "vids" / name / "groundtruth.txt").write_text(
            "".join(f"{30 + 3 * i},{20 + 2 * i},24,16\n" for i in range(6)))
    text = f"""
sources:
  - {{name: clips, root: {tmp_path / 'vids'}, format: folder, share: 1.0, lang_mode: template}}
template_size: 63
search_size: 127
negative_rate: 0.0
pairs_per_epoch: 5
"""
    cfg = parse_pairs_config(load_yaml_text(text, "pairs.yaml").root)
    ds = build_pair_dataset(cfg)
    assert len(ds) == 5 and ds[0]["search"].shape == (3, 127, 127) and ds[0]["lang_mode"] == "template"
    bad = text.replace("lang_mode: template", "lang_mode: words")
    with pytest.raises(ConfigError, match=r"pairs.yaml:3: sources\[0\].lang_mode: 'words' is not one of"):
        parse_pairs_config(load_yaml_text(bad, "pairs.yaml").root)
    with pytest.raises(ConfigError, match=r"pairs.yaml:6: negativ_rate: unknown key 'negativ_rate'"):
        parse_pairs_config(load_yaml_text(text.replace("negative_rate", "negativ_rate"), "pairs.yaml").root)


def test_debug_grid_png(videos: list[Video], tmp_path: Path) -> None:
    ds = PairDataset(videos, seed=0, pairs_per_epoch=6)
    out = write_pair_grid(ds, tmp_path / "grid.png", n=6, columns=3)
    img = cv2.imread(str(out))
    assert img is not None and img.shape[0] > 200 and img.shape[1] > 600


def test_pairs_debug_cli(tmp_path: Path) -> None:
    seq = tmp_path / "ds" / "car" / "car-1"
    v = _video(tmp_path / "src", "x")
    (seq / "img").mkdir(parents=True)
    for i, f in enumerate(v.frames):
        (seq / "img" / f"{i + 1:08d}.jpg").write_bytes(f.read_bytes())
    (seq / "groundtruth.txt").write_text("".join(",".join(str(int(c)) for c in b) + "\n" for b in v.boxes))
    out = tmp_path / "pairs.png"
    assert main(["data", "pairs-debug", "--dataset", str(tmp_path / "ds"), "--format", "lasot",
                 "--out", str(out), "-n", "4"]) == 0
    assert cv2.imread(str(out)) is not None
