"""``weaksal serve``: the JSON API's answers and limits, and the page in a real browser."""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request

import numpy as np
import pytest
from PIL import Image

import weaksal
from tests.browser import (
    detect_in_page,
    headless_chromium,
    missing_browser,
    running_server,
)
from tests.conftest import disk_mask, random_rgb


def photo_bytes(shape=(60, 90), fmt="PNG") -> tuple[np.ndarray, bytes]:
    image = random_rgb(shape, 5) // 3
    image[disk_mask(shape) > 0] = (240, 210, 30)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format=fmt)
    return image, buffer.getvalue()


def post(url: str, body: bytes, query: str) -> tuple[int, dict]:
    request = urllib.request.Request(f"{url}api/maps?{query}", data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def decode(url: str) -> np.ndarray:
    from tests.browser import decode_data_url

    return decode_data_url(url)


def test_api_returns_the_maps_predict_would_write():
    image, body = photo_bytes()
    with running_server() as url:
        with urllib.request.urlopen(f"{url}api/detectors") as answer:
            choices = json.loads(answer.read())
        assert choices["networks"][0] == "wss" and "mr" in choices["classic"]
        assert choices["promote"] == "lps"
        from weaksal.pretrained import list_models

        wss = next(info for info in list_models() if info.name == "wss")
        about = choices["descriptions"]  # what the page shows beside each name
        assert f"ECSSD max F {wss.ecssd_maxf_pooled:.3f} (pooled)" in about["wss"]
        assert about["mr"] == "classical detector (Yang et al., CVPR 2013), no training"
        assert set(about) == set(choices["networks"]) | set(choices["classic"])
        status, payload = post(url, body, "detectors=mr,wss&promote=1")
    assert status == 200, payload
    results = {r["detector"]: r for r in payload["results"]}
    assert list(results) == ["mr", "mr + LPS", "wss", "wss + LPS"]
    expected = np.round(weaksal.load("mr")(image) * 255).astype(np.uint8)
    np.testing.assert_array_equal(decode(results["mr"]["map"]), expected)
    cutout = decode(results["wss"]["cutout"])
    assert cutout.shape == (60, 90, 4)
    np.testing.assert_array_equal(cutout[..., :3], image)
    promoted = weaksal.load("mr", promote="lps")(image)
    np.testing.assert_array_equal(
        decode(results["mr + LPS"]["map"]), np.round(promoted * 255).astype(np.uint8)
    )


def test_api_refuses_bad_uploads_with_messages():
    _, body = photo_bytes()
    with running_server(max_bytes=len(body) - 1, max_pixels=10_000) as url:
        status, payload = post(url, body, "detectors=mr")
        assert status == 413 and "limit" in payload["error"]
    with running_server(max_pixels=1000) as url:
        status, payload = post(url, body, "detectors=mr")
        assert status == 413 and "90x60 = 5,400 pixels" in payload["error"]
        status, payload = post(url, b"not an image", "detectors=mr")
        assert status == 400 and "cannot read the upload as an image" in payload["error"]
        status, payload = post(url, b"", "detectors=mr")
        assert status == 400 and "empty" in payload["error"]
        _, small = photo_bytes((20, 30))
        status, payload = post(url, small, "detectors=../../etc/passwd")
        assert status == 400 and "unknown detector" in payload["error"]
        status, payload = post(url, small, "detectors=")
        assert status == 400 and "at least one detector" in payload["error"]


def test_server_listens_on_localhost_by_default():
    from weaksal.serve import make_server

    server = make_server(port=0)
    try:
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.server_close()


@pytest.mark.slow
def test_page_in_a_real_browser(tmp_path):
    reason = missing_browser()
    if reason:
        pytest.skip(f"no headless browser: {reason}")
    from skimage import data

    photo = tmp_path / "chelsea.jpg"
    Image.fromarray(data.chelsea()).save(photo, quality=95)  # a real photo
    height, width = data.chelsea().shape[:2]
    with running_server() as url, headless_chromium() as driver:
        maps = detect_in_page(driver, url, photo, ["wss", "mr"], promote=True)
        assert not isinstance(maps, str), maps
        assert sorted(maps) == ["mr", "mr + LPS", "wss", "wss + LPS"]
        for name, found in maps.items():
            assert found.shape == (height, width), name  # the map is the photo's size
        assert np.abs(maps["wss"].astype(int) - maps["mr"].astype(int)).mean() > 5
        screenshot = tmp_path / "page.png"
        driver.save_screenshot(str(screenshot))
        shot = np.asarray(Image.open(screenshot))
        assert shot.shape[0] > 500 and shot.std() > 20  # a drawn page, not a blank one
        bad = tmp_path / "notes.jpg"
        bad.write_bytes(b"these are not pixels")
        error = detect_in_page(driver, url, bad, ["mr"])
        assert isinstance(error, str) and "cannot read the upload as an image" in error


def test_api_renders_a_mask_or_overlay_at_the_asked_threshold():
    image, body = photo_bytes()
    with running_server() as url:
        status, payload = post(url, body, "detectors=mr&view=mask&threshold=0.3")
        assert status == 200, payload
        saliency = weaksal.load("mr")(image)
        mask = decode(payload["results"][0]["view"])
        np.testing.assert_array_equal(mask, weaksal.render("mask", image, saliency, 0.3))
        status, payload = post(url, body, "detectors=mr&view=overlay")
        assert status == 200 and decode(payload["results"][0]["view"]).shape == (60, 90, 3)
        for bad, words in (("view=poster", "view must be"), ("view=mask&threshold=2", "in [0, 1]")):
            status, payload = post(url, body, f"detectors=mr&{bad}")
            assert status == 400 and words in payload["error"], payload
