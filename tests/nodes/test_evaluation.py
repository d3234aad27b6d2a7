"""Evaluation nodes run the way ComfyUI calls them, on a synthetic scene with its character slots."""
import json

import numpy as np
import pytest
import torch
from choreograph.core.conditioning.characters import build_characters
from choreograph.core.conditioning.identity import assign_identities
from choreograph.core.errors import InputError, MissingModelError
from choreograph.core.metrics.identity import masked_crop
from choreograph.core.synth import SceneConfig, make_scene
from choreograph.nodes.evaluation import (
    ChoreoIdentityQA,
    ChoreoPoseMetrics,
    ChoreoTrackingMetrics,
    ChoreoVideoMetrics,
)


@pytest.fixture(scope="module")
def scene():
    return make_scene(SceneConfig(characters=2, frames=8, width=128, height=128, seed=4))


@pytest.fixture(scope="module")
def characters(scene):
    ref = scene.reference
    return build_characters(ref.frame, ref.poses, scene.poses, assign_identities(scene.poses),
                            masks=ref.masks.astype(np.float32))


def _images(frames):
    return torch.from_numpy(frames.astype(np.float32) / 255.0)


def _swap_from(frames, masks, start):
    """Frames where, from ``start`` on, each person's region shows the other person's look (resized)."""
    import cv2

    out = frames.astype(np.float32) / 255.0
    for t in range(start, len(out)):
        frame = out[t].copy()
        for dst, src in ((0, 1), (1, 0)):
            crop, _ = masked_crop(out[t], masks[t, src])
            ys, xs = np.nonzero(masks[t, dst])
            box = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
            look = cv2.resize(crop, (box[1].stop - box[1].start, box[0].stop - box[0].start),
                              interpolation=cv2.INTER_NEAREST)
            frame[box][masks[t, dst][box]] = look[masks[t, dst][box]]
        out[t] = frame
    return torch.from_numpy(out)


def test_identity_qa_holds_on_the_true_video_and_writes_its_report(headless_dirs, scene, characters):
    out = ChoreoIdentityQA().run(_images(scene.frames), scene.poses, characters, window=4)
    overlay, text, ok = out["result"]
    assert ok and overlay.shape == (8, 128, 128, 3) and overlay.dtype == torch.float32
    report = json.loads(text)
    assert report["ic_accuracy"]["IC_character"] == 1.0
    saved = headless_dirs / "output" / "choreograph" / "identity_qa_00001.json"
    assert json.loads(saved.read_text()) == report
    assert out["ui"]["reports"][0] == {"filename": saved.name, "subfolder": "choreograph", "type": "output"}


def test_identity_qa_flags_a_swap_in_the_overlay(headless_dirs, scene, characters):
    video = _swap_from(scene.frames, scene.masks_visible, 4)
    overlay, text, ok = ChoreoIdentityQA().run(video, scene.poses, characters, window=4)["result"]
    report = json.loads(text)
    assert not ok and report["swaps"][0]["start"] == 4 and report["swaps"][0]["mutual"]
    red_bar = (overlay[:, 0] == torch.tensor([1.0, 0.0, 0.0])).all(-1).all(-1)
    assert red_bar.tolist() == [False] * 4 + [True] * 4


def _card(headless_dirs, out) -> np.ndarray:
    import cv2

    entry = out["ui"]["images"][0]
    assert entry["type"] == "output" and entry["filename"].endswith(".png")
    path = headless_dirs / "output" / entry["subfolder"] / entry["filename"]
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def test_identity_qa_shows_a_card_on_the_graph_with_the_broken_frame_and_red_rows(headless_dirs, scene,
                                                                                    characters):
    """The ui "images" entry is what the stock frontend shows on the node: the frame where identity broke, above a
    table whose rows are red for the identities that swapped (green when they held)."""
    held = _card(headless_dirs, ChoreoIdentityQA().run(_images(scene.frames), scene.poses, characters, window=4))
    swapped_out = ChoreoIdentityQA().run(_swap_from(scene.frames, scene.masks_visible, 4), scene.poses, characters,
                                         window=4)
    swapped = _card(headless_dirs, swapped_out)
    assert held.shape[1] == swapped.shape[1] == 480 and held.shape[0] > 480
    table_red = lambda card: ((card[480:, :, 0] > 180) & (card[480:, :, 1] < 90)).sum()  # noqa: E731
    assert table_red(held) == 0 and table_red(swapped) > 50
    assert (swapped[0, :, 0] > 200).all() and (swapped[0, :, 1] < 40).all()  # the overlay's red bar: frame 4 on
    assert swapped_out["ui"]["text"] == ["identity broke: 1 swap window(s)"]  # one mutual swap


def test_identity_qa_refuses_poses_of_another_clip(headless_dirs, scene, characters):
    with pytest.raises(InputError, match="frames"):
        ChoreoIdentityQA().run(_images(scene.frames[:5]), scene.poses, characters)


def test_video_and_pose_metric_nodes(headless_dirs, scene):
    truth = _images(scene.frames[:4, ::2, ::2])
    mask = torch.from_numpy(scene.masks_visible[:4, :, ::2, ::2].any(axis=1).astype(np.float32))
    text = ChoreoVideoMetrics().run(truth * 0.9, truth, "eval/video", people_mask=mask)["result"][0]
    scores = json.loads(text)["video"]
    assert scores["SSIM"] < 1 and scores["masked_PSNR"] > scores["PSNR"] and scores["frames"] == 4
    text = ChoreoPoseMetrics().run(scene.poses, scene.poses, "eval/poses")["result"][0]
    data = json.loads(text)
    assert data["tracking"]["HOTA"] == pytest.approx(1.0) and data["pose"]["MPJPE"] == pytest.approx(0, abs=1e-3)
    assert (headless_dirs / "output" / "eval" / "poses_00001.json").is_file()


def test_identity_qa_can_use_a_reid_network_from_the_models_folder(headless_dirs, scene, characters, monkeypatch):
    pytest.importorskip("onnx")
    reid = headless_dirs / "models" / "reid"
    reid.mkdir(parents=True)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 5, stride=4), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
                              torch.nn.Flatten()).eval()
    torch.onnx.export(net, (torch.rand(1, 3, 256, 128),), str(reid / "tiny_osnet.onnx"), input_names=["x"],
                      output_names=["y"], dynamic_axes={"x": {0: "n"}, "y": {0: "n"}}, dynamo=False)
    monkeypatch.setenv("CHOREOGRAPH_MODELS_DIR", str(headless_dirs / "models"))
    choices = ChoreoIdentityQA.INPUT_TYPES()["required"]["embedder"][0]
    assert choices[0].startswith("colour/texture") and "tiny_osnet.onnx" in choices
    node = ChoreoIdentityQA()
    with_net = json.loads(node.run(_images(scene.frames), scene.poses, characters, 4, 0.15, "qa",
                                   "tiny_osnet.onnx")["result"][1])
    default = json.loads(node.run(_images(scene.frames), scene.poses, characters, 4, 0.15, "qa")["result"][1])
    own = [w["own_similarity"] for d in (with_net, default) for w in d["identities"]["0"]["windows"]]
    assert own[:2] != own[2:] and all(-1 <= v <= 1 for v in own)
    with pytest.raises(MissingModelError, match="absent.onnx"):
        node.run(_images(scene.frames), scene.poses, characters, 4, 0.15, "qa", "absent.onnx")


def test_mask_tracking_metrics_node_sees_a_swap(headless_dirs, scene):
    from choreograph.core.render.masks import IdentityMasks

    truth = IdentityMasks(scene.masks_visible.astype(np.float32), scene.poses.track_ids)
    swapped = scene.masks_visible.copy()
    swapped[4:] = swapped[4:, ::-1]
    tracked = IdentityMasks(swapped.astype(np.float32), (7, 8))
    perfect = json.loads(ChoreoTrackingMetrics().run(truth, truth)["result"][0])["tracking"]
    assert perfect["HOTA"] == pytest.approx(1.0) and perfect["IDSW"] == 0
    scores = json.loads(ChoreoTrackingMetrics().run(tracked, truth, "eval/tracks")["result"][0])["tracking"]
    assert scores["IDSW"] == 2 and scores["IDF1"] == pytest.approx(0.5) and scores["DetA"] == pytest.approx(1.0)
