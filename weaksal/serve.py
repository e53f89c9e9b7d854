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
decompression bomb is refused before decoding). Classical detectors, slow on
big images, run on a copy shrunk to ``classic_pixels`` (1 M) and their maps are
resized back to the image. Errors come back as ``{"error": "..."}`` in words
(4xx, 503 when busy, 500 when a model fails: the details go to the server's
log, one line each), and the page shows them. It listens on 127.0.0.1 unless
told otherwise; what it checks before any work (Host, Origin, the body's
length, time, concurrent work) is in :mod:`weaksal.serve_limits`.
"""

from __future__ import annotations

import base64
import io
import json
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import numpy as np

from weaksal.serve_limits import (
    DEFAULT_READ_TIMEOUT,
    FORM,
    SEND_FILE,
    HostPolicy,
    RequestError,
    WorkSlots,
    content_length,
    default_workers,
    read_body,
)

DEFAULT_MAX_BYTES = 15 * 2**20
DEFAULT_MAX_PIXELS = 40_000_000
DEFAULT_CLASSIC_PIXELS = 1_000_000
HUNG_UP = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


def log(line: str) -> None:
    """One line on the server's standard error (the client never sees these details)."""
    print(f"weaksal serve: {' '.join(line.split())}", file=sys.stderr, flush=True)


def described(exc: BaseException) -> str:
    """``Class: message (at file:line)``, one line, for the log."""
    where = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    at = f" (at {Path(where[0].filename).name}:{where[0].lineno})" if where else ""
    return f"{type(exc).__name__}: {exc}{at}"


def looks_like_a_form(data: bytes) -> bool:
    start = data[:2048].lower()
    return start.startswith(b"--") and b"content-disposition: form-data" in start


def decode_upload(data: bytes, max_pixels: int) -> np.ndarray:
    """RGB ``uint8`` from an uploaded file's bytes; size checked before decoding."""
    import warnings

    from PIL import Image, ImageOps, UnidentifiedImageError

    if not data:
        raise RequestError("the upload is empty: choose an image file")
    if looks_like_a_form(data):
        raise RequestError(FORM, HTTPStatus.UNSUPPORTED_MEDIA_TYPE)
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
    except UnidentifiedImageError:
        raise RequestError(
            f"cannot read the upload as an image: its {len(data):,} bytes are not an image file"
            f" this server knows; {SEND_FILE}"
        ) from None
    except Image.DecompressionBombError:
        raise RequestError(
            f"the image has over {2 * Image.MAX_IMAGE_PIXELS:,} pixels, more than this server"
            " decodes: send a smaller image",
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError):
        raise RequestError(
            f"cannot read the upload as an image: the file is damaged or cut short (its"
            f" {len(data):,} bytes do not hold the whole picture its header announces)"
        ) from None
    return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()


def png_data_url(array: np.ndarray) -> str:
    from weaksal.data.render import encode_png

    png = encode_png(array, compress_level=1)  # the page waits for it: speed over size
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


class DetectorFailed(Exception):
    """A detector (or LPS) raised on a request's image: a 500, the cause logged."""

    def __init__(self, name: str) -> None:
        super().__init__(f"the detector {name} failed on this image; the server's log says why")
        self.name = name


def shrink(image: np.ndarray, max_pixels: int) -> np.ndarray:
    """``image`` area-averaged to at most ``max_pixels``, its aspect kept; itself if it fits."""
    import cv2

    height, width = image.shape[:2]
    if height * width <= max_pixels:
        return image
    scale = (max_pixels / (height * width)) ** 0.5
    size = (max(1, int(width * scale)), max(1, int(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def grow(saliency: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A map back at the image's ``(H, W)``, bilinear."""
    import cv2

    if saliency.shape[:2] == tuple(shape):
        return saliency
    size = (shape[1], shape[0])
    grown = cv2.resize(saliency.astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
    return np.clip(grown, 0.0, 1.0)


class Detectors:
    """The detectors the page offers, each loaded once on first use (thread-safe).

    Classical detectors (seconds per megapixel) see the image shrunk to at most
    ``classic_pixels`` and their maps are resized back; networks resize for
    themselves, so they get the image as sent.
    """

    def __init__(
        self,
        device: str = "cpu",
        promoter: str | None = "lps",
        classic_pixels: int = DEFAULT_CLASSIC_PIXELS,
    ) -> None:
        from weaksal.api.detectors import classic_names
        from weaksal.pretrained import shipped_names

        self.device = device
        self.networks = shipped_names("saliency")
        self.classic = classic_names()
        self.promoter = promoter if promoter in shipped_names("promote") else None
        self.classic_pixels = classic_pixels
        self._loaded: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._promote_lock = threading.Lock()

    def choices(self) -> dict[str, Any]:
        return {
            "networks": self.networks,
            "classic": self.classic,
            "promote": self.promoter,
            "descriptions": self.descriptions(),
        }

    def descriptions(self) -> dict[str, str]:
        """One line per detector for the page: what taught it and how it scores."""
        from weaksal.classic import DETECTORS
        from weaksal.pretrained import list_models

        lines = {}
        for info in list_models():
            if info.name not in self.networks:
                continue
            scores = (
                f"; ECSSD max F {info.ecssd_maxf_pooled:.3f} (pooled), MAE {info.ecssd_mae:.3f}"
                if info.ecssd_maxf_pooled is not None and info.ecssd_mae is not None
                else ""
            )
            lines[info.name] = f"trained from {info.supervision}{scores}"
        for name in self.classic:
            lines[name] = f"classical detector ({DETECTORS.get(name).reference}), no training"
        return lines

    def chosen(self, names: Sequence[str], promote: bool) -> list[str]:
        """``names`` checked and de-duplicated (first occurrence kept), before any work."""
        unique = list(dict.fromkeys(name.strip() for name in names if name.strip()))
        if not unique:
            raise RequestError("choose at least one detector")
        known = self.networks + self.classic
        for name in unique:
            if name not in known:
                raise RequestError(
                    f"unknown detector {name[:60]!r}: choose from {', '.join(known)}"
                )
        if promote and not self.promoter:
            raise RequestError("no LPS model is installed, so maps cannot be promoted")
        return unique

    def _cached(self, key: str, make):
        with self._lock:
            if key not in self._loaded:
                self._loaded[key] = make()
            return self._loaded[key]

    def detector(self, name: str):
        """The detector ``name`` (a shipped model or a classical detector), loaded once."""
        from weaksal.api.detectors import load

        self.chosen([name], promote=False)
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

    def saliency(self, name: str, image: np.ndarray) -> np.ndarray:
        """``name``'s map of ``image``, at its size (a classical detector on a shrunk copy)."""
        try:
            seen = shrink(image, self.classic_pixels) if name in self.classic else image
            return grow(self.detector(name)(seen), image.shape[:2])
        except RequestError:
            raise
        except Exception as exc:
            log(f"the detector {name} failed: {described(exc)}")
            raise DetectorFailed(name) from exc

    def maps(
        self,
        image: np.ndarray,
        names: list[str],
        promote: bool,
        view: str | None = None,
        threshold: float | None = None,
    ) -> list[dict[str, Any]]:
        """Per detector (and, with ``promote``, its LPS-promoted map): PNG data URLs, seconds;
        with ``view`` (mask or overlay) also that rendering, at ``threshold``."""
        results = []
        for name in self.chosen(names, promote):
            start = time.perf_counter()
            saliency = self.saliency(name, image)
            entry = result_entry(name, image, saliency, time.perf_counter() - start)
            results.append(with_view(entry, image, saliency, view, threshold))
            if promote:
                start = time.perf_counter()
                try:
                    promoted, left = self.promote(image, saliency)
                except Exception as exc:
                    log(f"LPS failed on the map of {name}: {described(exc)}")
                    raise DetectorFailed(f"LPS (on {name}'s map)") from exc
                entry = result_entry(f"{name} + LPS", image, promoted, time.perf_counter() - start)
                entry["left_as_it_was"] = left
                results.append(with_view(entry, image, promoted, view, threshold))
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


#: what the page may ask for besides the map and the cut-out (``weaksal predict --type``)
VIEWS = ("mask", "overlay")


def view_of(query: dict[str, list[str]]) -> tuple[str | None, float | None]:
    """The ``view`` (mask or overlay) and ``threshold`` (in [0, 1]) of a query, checked."""
    view = query.get("view", [""])[0] or None
    if view is not None and view not in VIEWS:
        raise RequestError(f"view must be {' or '.join(VIEWS)}, not {view[:20]!r}")
    text = query.get("threshold", [""])[0]
    if not text:
        return view, None
    try:
        threshold = float(text)
    except ValueError:
        raise RequestError(f"threshold must be a number in [0, 1], not {text[:20]!r}") from None
    if not 0.0 <= threshold <= 1.0:
        raise RequestError(f"threshold must be in [0, 1], not {threshold}")
    return view, threshold


def with_view(entry: dict, image, saliency, view: str | None, threshold: float | None) -> dict:
    """``entry`` with ``view``: the mask or overlay ``weaksal predict --type`` would write."""
    if view is not None:
        from weaksal.data.render import render

        cut = 0.5 if view == "mask" and threshold is None else threshold
        entry["view"] = png_data_url(render(view, image, saliency, cut))
    return entry


class Server(ThreadingHTTPServer):
    """The threading server with a long listen queue and one log line per failed request."""

    request_queue_size = 128  # connections waiting to be accepted (the default, 5, resets them)
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, HUNG_UP):
            log(f"{client_address[0]} hung up before the answer was sent")
        elif isinstance(exc, TimeoutError):
            log(f"{client_address[0]} did not take the answer in time; dropped")
        else:
            log(f"a request from {client_address[0]} failed: {described(exc)}")


def make_handler(
    detectors: Detectors,
    max_bytes: int,
    max_pixels: int,
    hosts: HostPolicy,
    slots: WorkSlots,
    read_timeout: float = DEFAULT_READ_TIMEOUT,
):
    page = (Path(__file__).with_name("serve_page.html")).read_bytes()
    choices = {**detectors.choices(), "max_bytes": max_bytes, "max_pixels": max_pixels}

    class Handler(BaseHTTPRequestHandler):
        server_version = "weaksal"
        timeout = read_timeout  # seconds of silence while reading a request (socket timeout)

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - quiet by default
            pass

        def _send(self, status: int, body: bytes, content_type: str, extra=()) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            for name, value in extra:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, payload: dict, extra=()) -> None:
            self._send(status, json.dumps(payload).encode(), "application/json", extra)

        def _refuse(self, error: RequestError) -> None:
            self.close_connection = True  # a body left unread must not be parsed as a request
            busy = error.status == HTTPStatus.SERVICE_UNAVAILABLE
            self._json(error.status, {"error": str(error)}, [("Retry-After", "2")] if busy else ())

        def _host_refused(self) -> bool:
            """Refuse (403; 400 without a Host) a request for a name this server is not."""
            host = self.headers.get("Host")
            why = hosts.refusal(host)
            if why:
                status = HTTPStatus.BAD_REQUEST if host is None else HTTPStatus.FORBIDDEN
                self._refuse(RequestError(why, status))
            return why is not None

        def do_GET(self) -> None:  # noqa: N802 - the http.server protocol
            if self._host_refused():
                return
            path = urlparse(self.path).path
            if path in ("/", "/index.html"):
                self._send(HTTPStatus.OK, page, "text/html; charset=utf-8")
            elif path == "/api/detectors":
                self._json(HTTPStatus.OK, choices)
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no page {path[:100]}"})

        def do_POST(self) -> None:  # noqa: N802
            if self._host_refused():
                return
            url = urlparse(self.path)
            if url.path != "/api/maps":
                self._refuse(RequestError(f"no endpoint {url.path[:100]}", HTTPStatus.NOT_FOUND))
                return
            try:
                results = self._maps(url.query)
            except RequestError as exc:
                self._refuse(exc)
                return
            except DetectorFailed as exc:
                self._json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": str(exc)})
                return
            except HUNG_UP:
                raise  # the server's handle_error logs it in one line
            except Exception as exc:  # rendering, memory...: the page still gets an answer
                log(f"POST {url.path} failed: {described(exc)}")
                message = "the server failed while making the maps; its log says why"
                self._json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": message})
                return
            self._json(HTTPStatus.OK, {"results": results})

        def _maps(self, query_text: str) -> list[dict[str, Any]]:
            """Every check before the body is read, then the body, then one work slot."""
            why = hosts.origin_refusal(self.headers.get("Origin"))
            if why:
                raise RequestError(why, HTTPStatus.FORBIDDEN)
            query = parse_qs(query_text)
            names = ",".join(query.get("detectors", [])).split(",")
            promote = query.get("promote", ["0"])[0] in ("1", "true", "yes")
            names = detectors.chosen(names, promote)
            view, threshold = view_of(query)
            if self.headers.get_content_type().startswith("multipart/"):
                raise RequestError(FORM, HTTPStatus.UNSUPPORTED_MEDIA_TYPE)
            length = content_length(self.headers, max_bytes)
            data = read_body(self.rfile, self.connection, length, read_timeout)
            with slots.slot():
                image = decode_upload(data, max_pixels)
                return detectors.maps(image, names, promote, view, threshold)

    return Handler


def make_server(
    host: str = "127.0.0.1",
    port: int = 8765,
    device: str = "cpu",
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    *,
    classic_pixels: int = DEFAULT_CLASSIC_PIXELS,
    workers: int | None = None,
    read_timeout: float = DEFAULT_READ_TIMEOUT,
    allow_hosts: Sequence[str] = (),
) -> Server:
    """The server, bound and ready (``serve_forever`` to run; port 0 picks a free one).

    ``workers`` requests compute at once (None: one per CPU), one more gets 503;
    ``allow_hosts`` adds Host names to those of the bound address
    (:class:`weaksal.serve_limits.HostPolicy`).
    """
    detectors = Detectors(device, classic_pixels=classic_pixels)
    slots = WorkSlots(workers or default_workers())
    server = Server((host, port), BaseHTTPRequestHandler)  # bound first: port 0 picks one
    try:
        policy = HostPolicy(host, server.server_address[1], allow_hosts)
    except ValueError:
        server.server_close()
        raise
    server.RequestHandlerClass = make_handler(
        detectors, max_bytes, max_pixels, policy, slots, read_timeout
    )
    return server
