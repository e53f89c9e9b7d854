"""Faults: ``weaksal serve`` against odd requests, busy and slow clients, other sites (issue 32, 6-9).

Every test talks to a real server on 127.0.0.1 (port 0), malformed requests
through raw sockets; every wait is bounded, and each loop stops by itself.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import io
import json
import os
import socket
import struct
import threading
import time

import numpy as np
import pytest
from PIL import Image

import weaksal.serve
from weaksal.serve import make_server

MB = 2**20


@contextlib.contextmanager
def serving(**settings):
    """A server on a free port of 127.0.0.1, in a thread; yields the port."""
    server = make_server("127.0.0.1", 0, **settings)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def png(width: int = 30, height: int = 20) -> bytes:
    ramp = np.linspace(0, 255, width, dtype=np.float32)[None, :].repeat(height, 0)
    image = np.stack([ramp, ramp[::-1], np.full_like(ramp, 90)], -1).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def head(port: int, headers: dict[str, str], path: str = "/api/maps?detectors=mr") -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_answer(sock: socket.socket, timeout: float = 10.0) -> tuple[int, dict, bytes]:
    """Status, JSON body and raw bytes of one answer, read until the server closes."""
    deadline = time.monotonic() + timeout
    data = b""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        if not chunk:
            break
        data += chunk
    if not data:
        raise TimeoutError(f"no answer within {timeout} s")
    head_part, _, body = data.partition(b"\r\n\r\n")
    status = int(head_part.split(b" ", 2)[1])
    try:
        payload = json.loads(body)
    except ValueError:
        payload = {"error": body.decode("latin-1")}
    return status, payload, data


def raw(port: int, data: bytes, shut_write: bool = True, timeout: float = 10.0):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        if shut_write:
            sock.shutdown(socket.SHUT_WR)
        return read_answer(sock, timeout)


def post(port: int, body: bytes, query: str, headers=None, timeout: float = 30.0):
    """Status, JSON and headers of a well-formed POST (http.client sets Host and Content-Length)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("POST", f"/api/maps?{query}", body=body, headers=headers or {})
        answer = connection.getresponse()
        return answer.status, json.loads(answer.read()), dict(answer.getheaders())
    finally:
        connection.close()


def get(port: int, path: str = "/api/detectors", host: str | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Host": host} if host else {})
        answer = connection.getresponse()
        body = answer.read()
        return answer.status, (
            json.loads(body) if "json" in answer.getheader("Content-Type") else {}
        )
    finally:
        connection.close()


def stand_in(monkeypatch, function) -> None:
    """Every detector the server loads becomes ``function(name, image) -> map`` (no model loads)."""
    monkeypatch.setattr(
        weaksal.serve.Detectors, "detector", lambda self, name: functools.partial(function, name)
    )


def flat(name: str, image: np.ndarray) -> np.ndarray:
    return np.full(image.shape[:2], 0.5, np.float32)


def words_only(message: str) -> None:
    """No Python in a message the client sees: no object reprs, no exception class names."""
    for python in ("object at 0x", "BytesIO", "Error:", "Exception", "Traceback", "int()"):
        assert python not in message, (python, message)


# --- item 6: the body is read by its declared length, within the limit -------------------------


def test_a_negative_length_with_a_huge_body_is_refused_not_read():
    with serving() as port:
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        with sock:
            sock.sendall(head(port, {"Content-Length": "-1"}))

            def send_body():  # 20 MB after a length of -1: the old server read all and decoded it
                with contextlib.suppress(OSError):
                    for _ in range(20):
                        sock.sendall(b"\0" * MB)
                    sock.shutdown(socket.SHUT_WR)

            sender = threading.Thread(target=send_body, daemon=True)
            sender.start()
            status, payload, _ = read_answer(sock, timeout=20)
            sender.join(20)
        assert status == 400, payload
        assert "Content-Length" in payload["error"] and "'-1'" in payload["error"]
        words_only(payload["error"])
        # a declared length over the limit is refused before one byte of the body is sent
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(head(port, {"Content-Length": str(20 * MB)}))
            status, payload, _ = read_answer(sock, timeout=10)
        assert (
            status == 413
            and "the upload is 20 MB, over this server's limit of 15 MB" in payload["error"]
        )


@pytest.mark.parametrize("length", ["abc", "1_000", "+12", "12 12"])
def test_a_length_that_is_not_a_number_is_a_400_in_words(length):
    with serving() as port:
        status, payload, _ = raw(port, head(port, {"Content-Length": length}) + b"not an image")
    assert status == 400, payload
    assert (
        f"the Content-Length header must be a number of bytes, not {length!r}" in payload["error"]
    )
    words_only(payload["error"])


def test_a_missing_length_is_411_and_a_chunked_body_is_refused_by_name():
    body = png()
    with serving() as port:
        status, payload, _ = raw(port, head(port, {}) + body)
        assert status == 411, payload
        assert "no Content-Length header" in payload["error"]
        chunked = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
        status, payload, _ = raw(port, head(port, {"Transfer-Encoding": "chunked"}) + chunked)
        assert status == 411, payload
        assert "chunked" in payload["error"] and "Content-Length" in payload["error"]
        two = head(port, {"Content-Length": str(len(body)), "Content-length": "5"}) + body
        status, payload, _ = raw(port, two)
        assert status == 400 and "2 different Content-Length headers" in payload["error"]
        status, payload, _ = raw(port, head(port, {"Content-Length": str(len(body))}) + body)
        assert status == 200 and payload["results"][0]["detector"] == "mr"  # the same body, framed


def test_a_body_shorter_than_its_length_is_named():
    with serving() as port:
        status, payload, _ = raw(port, head(port, {"Content-Length": "1000"}) + b"x" * 400)
    assert status == 400, payload
    assert "the upload ended after 400 of the 1,000 bytes" in payload["error"]


# --- item 7: capacity -------------------------------------------------------------------------


def test_many_waiting_connections_are_queued_not_refused():
    server = make_server("127.0.0.1", 0)  # listening, not yet accepting: connections wait
    port = server.server_address[1]
    sockets: list[socket.socket] = []
    thread = None
    try:
        for _ in range(40):
            try:
                sockets.append(socket.create_connection(("127.0.0.1", port), timeout=1))
            except OSError:  # the listen queue is full: the SYN is dropped or refused
                break
        assert len(sockets) == 40, f"only {len(sockets)} of 40 waiting connections got in"
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        for sock in sockets:
            sock.sendall(f"GET /api/detectors HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        statuses = [read_answer(sock, timeout=20)[0] for sock in sockets]
        assert statuses == [200] * 40
    finally:
        for sock in sockets:
            sock.close()
        if thread:
            server.shutdown()
            thread.join(10)
        server.server_close()


def test_a_busy_server_answers_503_in_words(monkeypatch):
    workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    entered, release = threading.Semaphore(0), threading.Event()

    def slow(name, image):
        entered.release()
        release.wait(20)
        return np.zeros(image.shape[:2], np.float32)

    stand_in(monkeypatch, slow)
    body, answers = png(), []
    with serving() as port:
        threads = [
            threading.Thread(
                target=lambda: answers.append(post(port, body, "detectors=mr")[0]), daemon=True
            )
            for _ in range(workers)
        ]
        for thread in threads:
            thread.start()
        try:
            for _ in range(workers):  # one computation per CPU (the default): all slots taken
                assert entered.acquire(timeout=20)
            try:
                status, payload, headers = post(port, body, "detectors=mr", timeout=5)
            except TimeoutError:
                pytest.fail(f"request {workers + 1} was computed too: no 503 when busy")
        finally:
            release.set()
        for thread in threads:
            thread.join(20)
        assert answers == [200] * workers
        assert post(port, body, "detectors=mr")[0] == 200  # the slots were given back
    assert status == 503, payload
    assert f"busy: {workers} request" in payload["error"] and "try again" in payload["error"]
    assert headers.get("Retry-After") == "2"


def test_a_detector_named_ten_times_is_computed_once(monkeypatch):
    calls = []
    stand_in(monkeypatch, lambda name, image: calls.append(name) or flat(name, image))
    with serving() as port:
        status, payload, _ = post(port, png(), "detectors=" + ",".join(["mr"] * 10) + ",wss,mr")
    assert status == 200, payload
    assert [r["detector"] for r in payload["results"]] == ["mr", "wss"]
    assert calls == ["mr", "wss"]


def test_classical_detectors_see_a_shrunk_copy_and_give_full_size_maps(monkeypatch):
    seen = {}

    def ramp(name, image):  # a left-to-right ramp at the size the detector is given
        seen[name] = image.shape
        return np.linspace(0, 1, image.shape[1], dtype=np.float32)[None].repeat(image.shape[0], 0)

    stand_in(monkeypatch, ramp)
    with serving() as port:
        status, payload, _ = post(port, png(2000, 1500), "detectors=mr,wss")
    assert status == 200, payload
    height, width, _ = seen["mr"]
    assert height * width <= 1_000_000 and abs(width / height - 2000 / 1500) < 0.01, seen
    assert seen["wss"] == (1500, 2000, 3)  # a network resizes for itself: it gets the image
    from tests.browser import decode_data_url

    for result in payload["results"]:
        shown = decode_data_url(result["map"])
        assert shown.shape == (1500, 2000), result["detector"]
        assert shown[:, :20].mean() < 10 and shown[:, -20:].mean() > 245


def test_a_client_that_stops_sending_is_dropped_after_the_read_timeout():
    server = make_server("127.0.0.1", 0)
    try:
        assert server.RequestHandlerClass.timeout == 30  # the default: seconds of silence
    finally:
        server.server_close()
    with serving(read_timeout=1) as port:
        start = time.monotonic()
        status, payload, _ = raw(
            port, head(port, {"Content-Length": "1000"}) + b"x" * 500, shut_write=False
        )
        assert status == 408 and "no bytes for 1 s" in payload["error"], payload
        assert "after 500 of the 1,000 bytes" in payload["error"]
        assert time.monotonic() - start < 5
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n".encode())  # unfinished
            start = time.monotonic()
            assert sock.recv(100) == b""  # closed by the server, no answer to half a request
            assert time.monotonic() - start < 5


# --- item 8: Host and Origin ------------------------------------------------------------------


def test_only_the_hosts_it_was_started_for_are_answered():
    with serving() as port:
        for host in (
            f"127.0.0.1:{port}",
            f"localhost:{port}",
            f"[::1]:{port}",
            f"LocalHost:{port}",
        ):
            assert get(port, host=host)[0] == 200, host
        for host in (f"evil.example:{port}", "127.0.0.1:1", "localhost", f"127.0.0.2:{port}"):
            status, payload = get(port, host=host)
            assert status == 403, host
            assert f"not for the host {host!r}" in payload["error"]
            assert "--allow-host" in payload["error"]
        status, payload = get(port, "/", host=f"rebound.example:{port}")
        assert status == 403  # the page too: a rebound name reads nothing
        status, payload, _ = raw(port, b"GET /api/detectors HTTP/1.0\r\n\r\n")
        assert status == 400 and "no Host header" in payload["error"]
    with serving(allow_hosts=["weaksal.lan"]) as port:
        assert get(port, host=f"weaksal.lan:{port}")[0] == 200  # --allow-host
        assert get(port, host=f"weaksal.lan:{port + 1}")[0] == 403


def test_a_post_from_another_site_is_refused():
    body = png()
    with serving() as port:
        for origin in ("http://evil.example", f"http://evil.example:{port}", "null"):
            status, payload, _ = post(port, body, "detectors=mr", {"Origin": origin})
            assert status == 403, origin
            assert "pages of other sites" in payload["error"] and repr(origin) in payload["error"]
        status, payload, _ = post(
            port, body, "detectors=mr", {"Origin": f"http://127.0.0.1:{port}"}
        )
        assert status == 200, payload  # the page itself
        status, _, _ = post(port, body, "detectors=mr", {"Origin": f"http://localhost:{port}"})
        assert status == 200


def test_a_server_on_every_network_answers_addresses_and_allowed_names():
    from weaksal.serve_limits import HostPolicy  # --host 0.0.0.0: not bound in a test

    wide = HostPolicy("0.0.0.0", 8765, ["photos.lan", "proxy.example:443"])
    for host in ("localhost:8765", "192.168.1.20:8765", "[fe80::1]:8765", "photos.lan:8765"):
        assert wide.refusal(host) is None, host
    assert wide.refusal("proxy.example:443") is None
    for host in ("evil.example:8765", "photos.lan:9999", "192.168.1.20:1", "proxy.example:8765"):
        assert "--allow-host" in wide.refusal(host), host
    assert wide.refusal(None) == "the request has no Host header"


# --- item 9: messages in words ----------------------------------------------------------------


def test_an_unreadable_upload_is_explained_without_python(monkeypatch):
    body = png()
    with serving() as port:
        status, payload, _ = post(port, b"not an image", "detectors=mr")
        assert status == 400
        assert "cannot read the upload as an image" in payload["error"]
        assert "the body must be the raw image file" in payload["error"]
        words_only(payload["error"])
        status, payload, _ = post(port, body[: len(body) // 2], "detectors=mr")
        assert status == 400 and "damaged or cut short" in payload["error"], payload
        words_only(payload["error"])
        form = (
            b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
            b"Content-Type: image/png\r\n\r\n" + body + b"\r\n--XyZ--\r\n"
        )
        for headers in ({"Content-Type": "multipart/form-data; boundary=XyZ"}, {}):
            status, payload, _ = post(port, form, "detectors=mr", headers)
            assert status == 415, (headers, payload)
            assert "not a multipart form" in payload["error"]
            assert "the body must be the raw image file" in payload["error"]


def test_a_failing_model_is_a_500_in_words_and_one_log_line(monkeypatch, capsys):
    def broken(name, image):
        raise RuntimeError(f"kernel exploded at <Tensor object at 0x7f00> on {image.shape}")

    stand_in(monkeypatch, broken)
    with serving() as port:
        status, payload, _ = post(port, png(), "detectors=mr")
    assert status == 500
    assert payload["error"] == ("the detector mr failed on this image; the server's log says why")
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if "kernel exploded" in line]
    assert len(lines) == 1 and "mr failed" in lines[0] and "RuntimeError" in lines[0], err


def test_a_client_hanging_up_is_one_log_line(monkeypatch, capsys):
    entered, release = threading.Event(), threading.Event()

    def slow(name, image):
        entered.set()
        release.wait(20)
        return np.zeros(image.shape[:2], np.float32)

    stand_in(monkeypatch, slow)
    body = png()
    err = ""
    with serving() as port:
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(head(port, {"Content-Length": str(len(body))}) + body)
        assert entered.wait(20)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # a reset: the answer has nowhere to go
        release.set()
        deadline = time.monotonic() + 10
        while "hung up" not in err and "Traceback" not in err and time.monotonic() < deadline:
            time.sleep(0.05)
            err += capsys.readouterr().err
    time.sleep(0.2)
    err += capsys.readouterr().err
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "127.0.0.1 hung up before the answer was sent" in lines[0], err
