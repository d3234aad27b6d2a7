"""DWPose extraction: YOLOX and RTMPose processing, and the whole pipeline on tiny ONNX models."""
from pathlib import Path

import cv2
import numpy as np
import pytest
from _support import load_helper
from choreograph.core.errors import InputError, MissingModelError
from choreograph.core.pose import extract, rtmpose, yolox

tiny = load_helper("core/pose/tiny_dwpose.py")


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("models") / "detection"
    folder.mkdir()
    tiny.make_detector(folder / "yolox_l.onnx", tiny.two_people_raw())
    tiny.make_estimator(folder / "dw-ll_ucoco_384.onnx")
    return folder


def test_letterbox_pads_bottom_right_with_114_and_reports_ratio():
    image = np.full((100, 200, 3), 7, np.uint8)
    net, ratio = yolox.letterbox(image)
    assert ratio == pytest.approx(3.2)
    assert net.shape == (3, 640, 640) and net.dtype == np.float32
    assert net[:, 319, 639].tolist() == [7, 7, 7] and net[:, 320, 0].tolist() == [114, 114, 114]


def test_yolox_keeps_people_above_threshold_after_nms():
    boxes = yolox.person_boxes(tiny.two_people_raw(), ratio=2.0)
    np.testing.assert_allclose(boxes, np.array(tiny.PEOPLE_BOXES, np.float32), atol=1e-3)


def test_nms_drops_overlaps_but_keeps_separate_boxes():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], np.float32)
    assert yolox.nms(boxes, np.array([0.5, 0.9, 0.4])).tolist() == [1, 2]


def test_crop_matrix_is_dwpose_three_point_affine():
    centre, scale = rtmpose.box_centre_scale(np.array([[10, 20, 110, 120]]))
    assert scale[0].tolist() == pytest.approx([125.0, 125.0 / 0.75])  # padded 1.25, widened to 288:384
    w, h = rtmpose.INPUT_SIZE
    c, half = centre[0], scale[0][0] / 2
    src = np.float32([c, c + [0, -half], c + [-half, -half]])
    dst = np.float32([[w / 2, h / 2], [w / 2, h / 2 - w / 2], [0, h / 2 - w / 2]])
    np.testing.assert_allclose(rtmpose.crop_matrix(centre[0], scale[0]), cv2.getAffineTransform(src, dst),
                               atol=1e-4)


def test_simcc_decoding_takes_argmax_over_split_and_min_score():
    x, y = np.zeros((1, 2, 8), np.float32), np.zeros((1, 2, 6), np.float32)
    x[0, 0, 5], y[0, 0, 3] = 0.9, 0.7
    locations, scores = rtmpose.decode_simcc(x, y, 2.0)
    assert locations[0, 0].tolist() == [2.5, 1.5] and scores[0, 0] == pytest.approx(0.7)
    assert locations[0, 1].tolist() == [-0.5, -0.5] and scores[0, 1] == 0  # score 0: located at -1 / split


def test_pipeline_finds_each_person_at_its_mark(models):
    model = extract.load_dwpose([models], device="cpu", batch_size=3)
    frames = np.stack([tiny.two_people_frame()] * 4).astype(np.float32) / 255.0
    poses = extract.extract_poses(model, frames, fps=30)
    assert (poses.width, poses.height, poses.num_frames, poses.fps) == (320, 240, 4, 30)
    for people in poses.people:
        assert people.shape == (2, 133, 3)
        for person, dot in zip(people, tiny.DOTS):
            np.testing.assert_allclose(person[:, :2], np.broadcast_to(dot, (133, 2)), atol=1.5)
            assert (person[:, 2] == 1.0).all()  # SimCC maxima above 1 are clipped to a confidence of 1


def test_person_with_no_visible_point_is_dropped(models):
    model = extract.load_dwpose([models], device="cpu")
    frame = tiny.two_people_frame()
    frame[:, 160:] = 0  # erase the second person's mark: all its SimCC maxima are negative
    poses = extract.extract_poses(model, frame[None])
    assert len(poses.people[0]) == 1


def test_without_detector_the_whole_frame_is_one_person(models):
    model = extract.DWPose(extract.load_session(models / "dw-ll_ucoco_384.onnx", "cpu"))
    frame = np.zeros((240, 320, 3), np.uint8)
    frame[99:102, 199:202] = 255
    person = extract.extract_poses(model, frame[None]).people[0][0]
    np.testing.assert_allclose(person[:, :2], np.broadcast_to((200, 100), (133, 2)), atol=1.5)


def test_missing_models_name_the_files_and_folders(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(MissingModelError, match="dw-ll_ucoco_384.onnx") as err:
        extract.load_dwpose([tmp_path])
    assert str(tmp_path) in str(err.value)


def test_bad_frames_are_rejected_with_the_input_named(models):
    with pytest.raises(InputError, match="images"):
        extract.as_uint8_rgb(np.zeros((240, 320, 3)))
