"""Drive ``weaksal serve``'s page in a real headless browser (Debian's chromium + selenium).

Used by tests/test_serve.py and by ``python -m tests.browser --out docs/serve.png``,
which makes the committed screenshot. ``make browser`` installs chromium,
chromedriver and selenium.
"""

from __future__ import annotations

import base64
import contextlib
import io
import shutil
import tempfile
import threading
from pathlib import Path

import numpy as np


def missing_browser() -> str | None:
    """Why no browser test can run here, or None."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (make browser installs it)"
    for program in ("chromium", "chromedriver"):
        if shutil.which(program) is None:
            return f"{program} is not installed (make browser installs Debian's chromium)"
    return None


@contextlib.contextmanager
def running_server(**settings):
    """``weaksal serve`` on a free local port, in a thread; yields its URL."""
    from weaksal.serve import make_server

    server = make_server("127.0.0.1", 0, **settings)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def headless_chromium(width: int = 1400, height: int = 1000):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--window-size={width},{height}",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def decode_data_url(url: str) -> np.ndarray:
    from PIL import Image

    assert url.startswith("data:image/png;base64,"), url[:40]
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))


def detect_in_page(
    driver,
    url: str,
    photo: Path,
    detectors: list[str],
    promote: bool = False,
    timeout: float = 120.0,
) -> dict[str, np.ndarray] | str:
    """Upload ``photo``, tick ``detectors``, press Detect; the maps shown, or the page's error."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    wait = WebDriverWait(driver, timeout)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".detector"))
    for box in driver.find_elements(By.CSS_SELECTOR, ".detector"):
        if box.is_selected() != (box.get_attribute("value") in detectors):
            box.click()
    if driver.find_element(By.ID, "promote").is_selected() != promote:
        driver.find_element(By.ID, "promote").click()
    driver.find_element(By.ID, "file").send_keys(str(Path(photo).resolve()))
    driver.find_element(By.ID, "run").click()
    expected = len(detectors) * (2 if promote else 1)
    wait.until(
        lambda d: (
            len(d.find_elements(By.CSS_SELECTOR, "figure.result")) == expected
            or d.find_element(By.ID, "error").text
        )
    )
    error = driver.find_element(By.ID, "error").text
    if error:
        return error
    return {
        figure.get_attribute("data-detector"): decode_data_url(
            figure.find_element(By.TAG_NAME, "img").get_attribute("src")
        )
        for figure in driver.find_elements(By.CSS_SELECTOR, "figure.result")
    }


def main() -> None:
    import argparse

    from PIL import Image
    from skimage import data

    parser = argparse.ArgumentParser(description="screenshot of weaksal serve with real maps")
    parser.add_argument("--out", type=Path, default=Path("docs/serve.png"))
    parser.add_argument("--detectors", default="wss,mr", help="comma-separated, as in the page")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        photo = Path(folder) / "chelsea.jpg"
        Image.fromarray(data.chelsea()).save(photo, quality=95)  # a real photo from scikit-image
        with running_server() as url, headless_chromium(1400, 1180) as driver:
            maps = detect_in_page(driver, url, photo, args.detectors.split(","), promote=True)
            if isinstance(maps, str):
                raise SystemExit(f"the page showed an error: {maps}")
            driver.save_screenshot(str(args.out))
    print(f"wrote {args.out}: maps of {', '.join(maps)}")


if __name__ == "__main__":
    main()
