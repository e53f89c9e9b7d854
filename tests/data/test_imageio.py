import io
import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from tests.conftest import disk_mask, random_rgb, save_image
from weaksal.data.imageio import binarize, image_size, read_depth, read_image, read_mask
from weaksal.plumbing.atomic import atomic_path, write_json, write_png
from weaksal.plumbing.errors import CorruptFileError, DecompressionBombError


def test_greyscale_palette_rgba_and_bmp_become_rgb(tmp_path):
    rgb = random_rgb()
    grey = save_image(tmp_path / "grey.png", rgb[..., 0])
    palette = tmp_path / "palette.png"
    Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE).save(palette)
    rgba = save_image(tmp_path / "rgba.png", np.dstack([rgb, np.full(rgb.shape[:2], 7, np.uint8)]))
    bmp = save_image(tmp_path / "image.bmp", rgb)
    out = read_image(grey)
    assert out.shape == (24, 32, 3) and out.dtype == np.uint8
    assert np.array_equal(out[..., 1], rgb[..., 0])
    assert read_image(palette).shape == (24, 32, 3)
    assert np.array_equal(read_image(rgba), rgb)  # alpha dropped, colour kept
    assert np.array_equal(read_image(bmp), rgb)


def test_sixteen_bit_image_and_mask_scale_to_eight_bits(tmp_path):
    ramp = (np.arange(24 * 32).reshape(24, 32) * 80).astype(np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(ramp).save(path)
    image = read_image(path)
    expected = np.rint(ramp / 65535 * 255).astype(np.uint8)
    assert np.array_equal(image[..., 0], expected)
    assert np.array_equal(read_mask(path), expected)
    depth = read_depth(path)
    assert depth.dtype == np.float32 and np.isclose(depth.max(), ramp.max() / 65535)


def test_exif_rotation_is_applied(tmp_path):
    yy, xx = np.mgrid[:20, :40]
    rgb = np.dstack([xx * 6, yy * 12, np.full_like(xx, 100)]).astype(np.uint8)  # smooth: JPEG-safe
    image = Image.fromarray(rgb)
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    path = tmp_path / "phone.jpg"
    image.save(path, exif=exif.tobytes(), quality=100)
    out = read_image(path)
    assert out.shape == (40, 20, 3)
    assert image_size(path) == (40, 20)
    assert np.abs(out.astype(int) - np.rot90(rgb, k=-1).astype(int)).mean() < 3


def test_mask_conventions(tmp_path):
    zero_one = save_image(tmp_path / "01.png", disk_mask(value=1))
    zero_255 = save_image(tmp_path / "0255.png", disk_mask())
    one_bit = tmp_path / "bit.png"
    Image.fromarray(disk_mask() > 0).save(one_bit)
    assert np.array_equal(read_mask(zero_one), disk_mask())
    assert np.array_equal(read_mask(one_bit), disk_mask())
    grey = np.array([[0, 127, 128, 129, 255]], dtype=np.uint8)
    assert binarize(read_mask(save_image(tmp_path / "grey.png", grey))).tolist() == [
        [False, False, False, True, True]
    ]
    assert np.array_equal(read_mask(zero_255), disk_mask())


def test_corrupt_and_truncated_files_name_the_file(tmp_path):
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"this is not an image")
    with pytest.raises(CorruptFileError, match="junk.jpg") as info:
        read_image(junk)
    assert "weaksal data check" in str(info.value)
    buffer = io.BytesIO()
    Image.fromarray(random_rgb((200, 200))).save(buffer, format="JPEG")
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(CorruptFileError, match="cut.jpg"):
        read_image(truncated)
    with pytest.raises(CorruptFileError, match="missing.png"):
        read_mask(tmp_path / "missing.png")


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00"))
        + chunk(b"IEND", b"")
    )


def test_decompression_bomb_is_refused_before_decoding(tmp_path, monkeypatch):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_header_only(60000, 60000))
    with pytest.raises(DecompressionBombError, match="bomb.png") as info:
        read_image(bomb)
    assert "WEAKSAL_MAX_PIXELS" in str(info.value)
    small = save_image(tmp_path / "small.png", random_rgb())
    monkeypatch.setenv("WEAKSAL_MAX_PIXELS", "100")
    with pytest.raises(DecompressionBombError, match="small.png"):
        read_image(small)


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out" / "map.png"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("killed")
    assert not target.exists() and os.listdir(target.parent) == []
    write_png(target, disk_mask())
    assert np.array_equal(read_mask(target), disk_mask())
    write_json(tmp_path / "r.json", {"x": np.float64(0.5), "a": np.arange(2)})
    assert (tmp_path / "r.json").read_text().count("0.5") == 1
    with pytest.raises(TypeError, match="uint8"):
        write_png(target, disk_mask().astype(np.float32))
