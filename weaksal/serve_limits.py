"""``weaksal serve``'s guards, checked before any work: who may ask, how the body comes, how much.

* **Host and Origin.** Only the names the server was started for are answered
  (a page of another site reaching it through DNS rebinding names itself in
  ``Host``, and gets 403); a POST whose ``Origin`` is not one of those names
  (a page of another site, a sandboxed frame's ``null``) gets 403 too.
* **The body.** It is read by its ``Content-Length``, exactly, and only when
  that is a plain number within the limit: a missing length is a 411, a
  chunked (or otherwise transfer-encoded) body a 411 naming the fix, a
  malformed or negative length a 400, a length over the limit a 413, all
  before a byte of the body is read.
* **Time.** A client silent for ``read_timeout`` seconds (30) while sending
  its request is answered 408 (or, mid-headers, dropped); a body must also
  keep up an average of 32 KiB/s, so a trickle cannot hold a thread for hours.
* **Work.** At most ``workers`` requests (one per CPU) compute at once; one
  more is answered 503 at once, with ``Retry-After``.

Everything here is standard library; the messages are shown as they are in
the page, so they are written for its user.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import threading
import time
from collections.abc import Iterator, Sequence
from http import HTTPStatus

DEFAULT_READ_TIMEOUT = 30.0
MIN_UPLOAD_RATE = 32 * 2**10  # bytes per second, on average over the body
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
SEND_FILE = (
    "the body must be the raw image file (the bytes of a JPEG, PNG, BMP, TIFF or WebP file, not"
    " a multipart form), as the page, fetch(url, {method: 'POST', body: file}) or"
    " curl --data-binary @photo.jpg send it"
)
FORM = "the upload is a multipart form (what an HTML form or curl -F sends): " + SEND_FILE


class RequestError(Exception):
    """A bad request: its message is shown in the page; ``status`` is the HTTP answer."""

    def __init__(self, message: str, status: HTTPStatus = HTTPStatus.BAD_REQUEST) -> None:
        super().__init__(message)
        self.status = status


def megabytes(count: float) -> str:
    return f"{count / 2**20:.1f}".removesuffix(".0") + " MB"


def default_workers() -> int:
    """One computation per CPU this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


# --- Host and Origin -------------------------------------------------------------------------

_HOST = re.compile(r"(\[[0-9a-f:.]+\]|[^:\[\]/\s@]+)(?::([0-9]{1,5}))?")


def split_host(value: str, default_port: int = 80) -> tuple[str, int] | None:
    """``("name", port)`` of a ``Host`` value, lower-cased; None if malformed."""
    match = _HOST.fullmatch(value.strip().lower())
    if not match:
        return None
    return match[1], int(match[2]) if match[2] else default_port


def _is_address(name: str) -> bool:
    try:
        if name.startswith("["):
            ipaddress.IPv6Address(name[1:-1])
        else:
            ipaddress.IPv4Address(name)
    except ValueError:
        return False
    return True


class HostPolicy:
    """The ``Host`` names this server answers, and the origins it takes POSTs from.

    Bound to a loopback address (the default) or to one name or address: that
    one and, for loopback, ``localhost``, ``127.0.0.1`` and ``[::1]``, each
    with the server's port. Bound to every network (``0.0.0.0``, ``::``): the
    loopback names and any IP address typed as such (an address cannot be
    rebound to another site), with the port. ``allow`` adds names, ``NAME``
    (with the server's port) or ``NAME:PORT`` (a proxy's port).
    """

    def __init__(self, host: str, port: int, allow: Sequence[str] = ()) -> None:
        self.port = port
        bound = host.strip().lower().strip("[]")
        self.every_network = bound in ("", "0.0.0.0", "::")
        if ":" in bound:
            bound = f"[{bound}]"
        names = set()
        if self.every_network or bound == "localhost" or _is_loopback(bound):
            names.update(LOOPBACK_NAMES)
        if not self.every_network:
            names.add(bound)
        self.allowed = {(name, port) for name in names}
        for extra in allow:
            parsed = split_host(extra, default_port=port)
            if parsed is None:
                raise ValueError(f"{extra!r} is not a host name or NAME:PORT")
            self.allowed.add(parsed)

    def accepts(self, value: str) -> bool:
        parsed = split_host(value)
        if parsed is None:
            return False
        if parsed in self.allowed:
            return True
        return self.every_network and parsed[1] == self.port and _is_address(parsed[0])

    def refusal(self, value: str | None) -> str | None:
        """Why a request naming the host ``value`` is refused, or None."""
        if value is None:
            return "the request has no Host header"
        if self.accepts(value):
            return None
        names = sorted(f"{name}:{port}" for name, port in self.allowed)
        if self.every_network:
            names.append(f"any IP address:{self.port}")
        return (
            f"this server answers requests for {', '.join(names)} only, not for the host"
            f" {value!r}: open it by one of those addresses, or start it with --allow-host NAME"
            " to add a name (a page of another site must not reach it)"
        )

    def origin_refusal(self, origin: str | None) -> str | None:
        """Why a POST from a page of ``origin`` is refused, or None (no Origin: not a page)."""
        if origin is None:
            return None
        scheme, _, host = origin.strip().partition("://")
        if scheme.lower() == "http" and host and "/" not in host and self.accepts(host):
            return None
        return (
            f"this server takes no requests from pages of other sites (this one came from"
            f" {origin!r}): open the server's own page and drop the image there"
        )


def _is_loopback(name: str) -> bool:
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


# --- The body ----------------------------------------------------------------------------------


def content_length(headers, max_bytes: int) -> int:
    """The body's declared length, refused unless a plain number within ``max_bytes``."""
    if headers.get("Transfer-Encoding") is not None:
        raise RequestError(
            "this server does not take a chunked (or otherwise transfer-encoded) body: send the"
            " image file with a Content-Length header, as browsers and curl --data-binary @photo.jpg"
            " do",
            HTTPStatus.LENGTH_REQUIRED,
        )
    values = [value.strip() for value in headers.get_all("Content-Length") or []]
    if not values:
        raise RequestError(
            "the request has no Content-Length header: " + SEND_FILE, HTTPStatus.LENGTH_REQUIRED
        )
    if len(set(values)) > 1:
        raise RequestError(f"the request has {len(set(values))} different Content-Length headers")
    if not re.fullmatch(r"[0-9]{1,15}", values[0]):
        raise RequestError(
            f"the Content-Length header must be a number of bytes, not {values[0][:40]!r}"
        )
    length = int(values[0])
    if length > max_bytes:
        raise RequestError(
            f"the upload is {megabytes(length)}, over this server's limit of"
            f" {megabytes(max_bytes)}: send a smaller image",
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        )
    return length


def read_body(rfile, connection, length: int, timeout: float) -> bytes:
    """Exactly ``length`` bytes, each read within ``timeout`` s, all at ``MIN_UPLOAD_RATE``."""
    start = time.monotonic()
    deadline = start + timeout + length / MIN_UPLOAD_RATE
    parts, got = [], 0
    try:
        while got < length:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RequestError(
                    f"the upload is too slow: {got:,} of the {length:,} bytes in"
                    f" {time.monotonic() - start:.0f} s",
                    HTTPStatus.REQUEST_TIMEOUT,
                )
            connection.settimeout(min(timeout, left))
            try:
                chunk = rfile.read1(min(2**20, length - got))
            except TimeoutError:
                raise RequestError(
                    f"the upload stalled: no bytes for {timeout:g} s, after {got:,} of the"
                    f" {length:,} bytes its Content-Length announced",
                    HTTPStatus.REQUEST_TIMEOUT,
                ) from None
            if not chunk:
                raise RequestError(
                    f"the upload ended after {got:,} of the {length:,} bytes its Content-Length"
                    " announced"
                )
            parts.append(chunk)
            got += len(chunk)
    finally:
        connection.settimeout(timeout)
    return b"".join(parts)


# --- Work --------------------------------------------------------------------------------------


class WorkSlots:
    """At most ``count`` computations at once; one more is refused (503), it does not wait."""

    def __init__(self, count: int) -> None:
        self.count = count
        self._free = threading.BoundedSemaphore(count)

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        if not self._free.acquire(blocking=False):
            raise RequestError(
                f"the server is busy: {self.count} request{'s are' if self.count > 1 else ' is'}"
                " being computed, as many as it runs at once; try again in a moment",
                HTTPStatus.SERVICE_UNAVAILABLE,
            )
        try:
            yield
        finally:
            self._free.release()
