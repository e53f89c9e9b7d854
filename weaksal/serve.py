"""``weaksal serve``: a local web page to drop an image and compare detectors' maps.

One page (no build step, no external assets) and a small JSON API on the
standard library's threading HTTP server:

* ``GET /``: the page;
* ``GET /api/detectors``: the choices (shipped saliency models, classical
  detectors, and whether LPS promotion is available);
* ``POST /api/maps?detectors=wss,mr&promote=1``: the request body is the
  image file's bytes; the answer holds, per detector, the map and the
  cut-out as PNG data URLs (rendered by :mod:`weaksal.data.render`, the files
  ``weaksal predict --type map|rgba`` writes) and the seconds it took.

The client never names a file: images arrive as bytes and are decoded in
memory, with limits on the upload size and on the pixel count (a
decompression bomb is refused before decoding). Errors come back as
``{"error": "..."}`` with a 4xx status, and the page shows them. It listens
on 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import numpy as np

DEFAULT_MAX_BYTES = 15 * 2**20
DEFAULT_MAX_PIXELS = 40_000_000


class RequestError(Exception):
    """A bad request: its message is shown in the page; ``status`` is the HTTP answer."""

    def __init__(self, message: str, status: HTTPStatus = HTTPStatus.BAD_REQUEST) -> None:
        super().__init__(message)
        self.status = status


def decode_upload(data: bytes, max_pixels: int) -> np.ndarray:
    """RGB ``uint8`` from an uploaded file's bytes; size checked before decoding."""
    import warnings

    from PIL import Image, ImageOps, UnidentifiedImageError

    if not data:
        raise RequestError("the upload is empty: choose an image file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > max_pixels:
                raise RequestError(
                    f"the image is {width}x{height} = {width * height:,} pixels, over this"
                    f" server's limit of {max_pixels:,}: send a smaller image",
                    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                )
            image.load()
            image = ImageOps.exif_transpose(image)
    except RequestError:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        EOFError,
        Image.DecompressionBombError,
    ) as exc:
        raise RequestError(f"cannot read the upload as an image ({exc})") from None
    return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()


def png_data_url(array: np.ndarray) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


class Detectors:
    """The detectors the page offers, each loaded once on first use (thread-safe)."""

    def __init__(self, device: str = "cpu", promoter: str | None = "lps") -> None:
        from weaksal.api.detectors import classic_names
        from weaksal.pretrained import shipped_names

        self.device = device
        self.networks = shipped_names("saliency")
        self.classic = classic_names()
        self.promoter = promoter if promoter in shipped_names("promote") else None
        self._loaded: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._promote_lock = threading.Lock()

    def choices(self) -> dict[str, Any]:
        return {"networks": self.networks, "classic": self.classic, "promote": self.promoter}

    def _cached(self, key: str, make):
        with self._lock:
            if key not in self._loaded:
                self._loaded[key] = make()
            return self._loaded[key]

    def detector(self, name: str):
        """The detector ``name`` (a shipped model or a classical detector), loaded once."""
        from weaksal.api.detectors import load

        if name not in self.networks + self.classic:
            raise RequestError(
                f"unknown detector {name!r}: choose from {', '.join(self.networks + self.classic)}"
            )
        return self._cached(name, lambda: load(name, device=self.device))

    def promote(self, image: np.ndarray, saliency: np.ndarray) -> tuple[np.ndarray, bool]:
        """LPS's map of ``saliency`` and whether its gate left the map as it was.

        One request at a time uses the promoter: ``left`` belongs to its last call.
        """
        from weaksal.api.detectors import open_promotion

        promotion = self._cached("lps", lambda: open_promotion(self.promoter, self.device))
        with self._promote_lock:
            promoted = promotion(image, saliency)
            return promoted, bool(promotion.left[0])

    def maps(self, image: np.ndarray, names: list[str], promote: bool) -> list[dict[str, Any]]:
        """Per detector (and, with ``promote``, its LPS-promoted map): PNG data URLs, seconds."""
        if not names:
            raise RequestError("choose at least one detector")
        if promote and not self.promoter:
            raise RequestError("no LPS model is installed, so maps cannot be promoted")
        results = []
        for name in names:
            detector = self.detector(name)
            start = time.perf_counter()
            saliency = detector(image)
            results.append(result_entry(name, image, saliency, time.perf_counter() - start))
            if promote:
                start = time.perf_counter()
                promoted, left = self.promote(image, saliency)
                entry = result_entry(f"{name} + LPS", image, promoted, time.perf_counter() - start)
                entry["left_as_it_was"] = left
                results.append(entry)
        return results


def result_entry(name: str, image: np.ndarray, saliency: np.ndarray, seconds: float) -> dict:
    """What the page shows of one map: the grey map and the cut-out (PNG data URLs), timing."""
    from weaksal.data.render import render

    return {
        "detector": name,
        "seconds": round(seconds, 3),
        "width": int(image.shape[1]),
        "height": int(image.shape[0]),
        "map": png_data_url(render("map", image, saliency)),
        "cutout": png_data_url(render("rgba", image, saliency)),
    }


def make_handler(detectors: Detectors, max_bytes: int, max_pixels: int):
    page = (Path(__file__).with_name("serve_page.html")).read_bytes()

    class Handler(BaseHTTPRequestHandler):
        server_version = "weaksal"

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - quiet by default
            pass

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, payload: dict) -> None:
            self._send(status, json.dumps(payload).encode(), "application/json")

        def do_GET(self) -> None:  # noqa: N802 - the http.server protocol
            path = urlparse(self.path).path
            if path in ("/", "/index.html"):
                self._send(HTTPStatus.OK, page, "text/html; charset=utf-8")
            elif path == "/api/detectors":
                self._json(HTTPStatus.OK, detectors.choices())
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no page {path}"})

        def do_POST(self) -> None:  # noqa: N802
            url = urlparse(self.path)
            if url.path != "/api/maps":
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no endpoint {url.path}"})
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
                if length > max_bytes:
                    raise RequestError(
                        f"the upload is {length / 2**20:.1f} MB, over this server's limit of"
                        f" {max_bytes / 2**20:.0f} MB: send a smaller image",
                        HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                    )
                query = parse_qs(url.query)
                names = [n for n in ",".join(query.get("detectors", [])).split(",") if n]
                promote = query.get("promote", ["0"])[0] in ("1", "true", "yes")
                image = decode_upload(self.rfile.read(length), max_pixels)
                results = detectors.maps(image, names, promote)
            except RequestError as exc:
                self.close_connection = True  # an unread oversized body must not be parsed
                self._json(exc.status, {"error": str(exc)})
                return
            except Exception as exc:  # a model failing must still answer the page
                self._json(
                    HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"{type(exc).__name__}: {exc}"}
                )
                return
            self._json(HTTPStatus.OK, {"results": results})

    return Handler


def make_server(
    host: str = "127.0.0.1",
    port: int = 8765,
    device: str = "cpu",
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> ThreadingHTTPServer:
    """The server, bound and ready (``serve_forever`` to run; port 0 picks a free one)."""
    handler = make_handler(Detectors(device), max_bytes, max_pixels)
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server
