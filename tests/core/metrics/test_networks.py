"""LPIPS / FID / FVD / re-ID plumbing through real (tiny, random) networks: no weights are shipped or faked."""
import numpy as np
import pytest
import torch
from choreograph.core.errors import InputError, MissingModelError
from choreograph.core.metrics.frechet import frechet_between
from choreograph.core.metrics.lpips import LPIPS, load_lpips, lpips_video
from choreograph.core.metrics.networks import (
    FeatureSpec,
    clip_features,
    crop_embedder,
    fid,
    fvd,
    image_features,
    onnx_network,
)
from safetensors.torch import save_file

TINY = (4, 6, 8, 8, 8)


def _frames(seed, n=6, size=40):
    return torch.from_numpy(np.random.default_rng(seed).random((n, size, size, 3))).float()


def test_lpips_is_zero_for_identical_symmetric_and_grows_with_distortion():
    torch.manual_seed(0)
    model = LPIPS(TINY, size=64).eval()
    a = _frames(0)
    mild = (a + 0.05 * torch.randn_like(a)).clamp(0, 1)
    strong = (a + 0.4 * torch.randn_like(a)).clamp(0, 1)
    assert lpips_video(model, a, a) == pytest.approx(0.0, abs=1e-7)
    assert lpips_video(model, a, strong) == pytest.approx(lpips_video(model, strong, a), rel=1e-5)
    assert 0 < lpips_video(model, a, mild) < lpips_video(model, a, strong)
    with pytest.raises(InputError, match="differs"):
        lpips_video(model, a, a[:3])


def test_lpips_weights_load_from_safetensors_under_torchvision_and_lpips_names(tmp_path):
    torch.manual_seed(1)
    model = LPIPS(TINY, size=64).eval()
    for p in model.lin:
        p.data = torch.rand_like(p)
    tensors = {name.removeprefix("trunk."): t for name, t in model.state_dict().items() if name.startswith("trunk.")}
    tensors.update({f"lin{k}.model.1.weight": p.detach().clone() for k, p in enumerate(model.lin)})
    save_file(tensors, tmp_path / "lpips_alex.safetensors")
    loaded = load_lpips(tmp_path / "lpips_alex.safetensors", size=64)
    a, b = _frames(2), _frames(3)
    assert lpips_video(loaded, a, b) == pytest.approx(lpips_video(model, a, b), rel=1e-6)
    del tensors["lin4.model.1.weight"]
    save_file(tensors, tmp_path / "broken.safetensors")
    with pytest.raises(InputError, match="linear heads"):
        load_lpips(tmp_path / "broken.safetensors")
    with pytest.raises(MissingModelError):
        load_lpips(tmp_path / "absent.safetensors")


def _export(module, example, path):
    pytest.importorskip("onnx")
    torch.onnx.export(module.eval(), (example,), str(path), input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "n"}, "y": {0: "n"}}, dynamo=False)
    return onnx_network(path)


def test_fid_through_an_onnx_network_matches_the_torch_module(tmp_path):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 5, 3, stride=2), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
                              torch.nn.Flatten())
    spec = FeatureSpec((32, 32))
    onnx_net = _export(net, torch.rand(1, 3, 32, 32), tmp_path / "tiny_inception.onnx")

    def torch_net(batch):
        with torch.no_grad():
            return net(torch.from_numpy(batch)).double().numpy()

    real, fake = _frames(0, n=12), (_frames(0, n=12) * 0.5 + 0.25)
    assert image_features(real, onnx_net, spec) == pytest.approx(image_features(real, torch_net, spec), abs=1e-5)
    assert fid(real, fake, onnx_net, spec) == pytest.approx(fid(real, fake, torch_net, spec), rel=1e-4)
    assert fid(real, real, onnx_net, spec) == pytest.approx(0.0, abs=1e-6)
    assert fid(real, fake, onnx_net, spec) > 0
    with pytest.raises(MissingModelError):
        onnx_network(tmp_path / "inception.onnx")


def test_fvd_uses_non_overlapping_sixteen_frame_clips(tmp_path):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv3d(3, 4, (3, 3, 3), stride=(2, 2, 2)), torch.nn.ReLU(),
                              torch.nn.AdaptiveAvgPool3d(1), torch.nn.Flatten())
    spec = FeatureSpec((24, 24))
    onnx_net = _export(net, torch.rand(1, 3, 16, 24, 24), tmp_path / "tiny_i3d.onnx")
    videos = [_frames(s, n=33, size=24) for s in range(3)]
    assert clip_features(videos[0], onnx_net, spec).shape == (2, 4)  # 33 frames → 2 clips, the rest dropped
    shaky = [(v + 0.3 * torch.randn_like(v)).clamp(0, 1) for v in videos]
    assert fvd(videos, videos, onnx_net, spec) == pytest.approx(0.0, abs=1e-6)
    assert fvd(videos, shaky, onnx_net, spec) > 0
    with pytest.raises(InputError, match="16-frame"):
        clip_features(videos[0][:10], onnx_net, spec)


def test_reid_network_plugs_into_the_identity_embedder():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 6, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
    embed = crop_embedder(lambda b: net(torch.from_numpy(b)).detach().double().numpy(), FeatureSpec((32, 16)))
    crops = [(np.random.default_rng(i).random((20, 10, 3)).astype(np.float32), np.ones((20, 10), bool))
             for i in range(3)]
    rows = embed(crops)
    assert rows.shape == (3, 6) and frechet_between(rows, rows) == pytest.approx(0, abs=1e-9)
