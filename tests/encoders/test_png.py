import struct
import zlib

import numpy as np
import pytest

from kgtool.encoders.png import decode_png


def _predict(kind, left, up, up_left):
    if kind == 4:  # Paeth, written out independently of the decoder
        p = left + up - up_left
        pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
        return left if pa <= pb and pa <= pc else up if pb <= pc else up_left
    return (0, left, up, (left + up) // 2)[kind]


def encode_png(pixels: np.ndarray, colour: int, filters) -> bytes:
    """A PNG of (h, w, c) uint8 pixels, row y filtered with filters[y]."""
    h, w, c = pixels.shape
    raw = b""
    flat = pixels.reshape(h, w * c).astype(int)
    for y in range(h):
        row = [filters[y]]
        for i in range(w * c):
            left = flat[y, i - c] if i >= c else 0
            up = flat[y - 1, i] if y else 0
            up_left = flat[y - 1, i - c] if y and i >= c else 0
            row.append((flat[y, i] - _predict(filters[y], left, up, up_left)) % 256)
        raw += bytes(row)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("colour, channels", [(0, 1), (2, 3), (4, 2), (6, 4)])
def test_every_filter_and_colour_type_round_trips(colour, channels):
    pixels = np.random.default_rng(0).integers(0, 256, (5, 4, channels), dtype=np.uint8)
    assert np.array_equal(decode_png(encode_png(pixels, colour, filters=[0, 1, 2, 3, 4])), pixels)


def test_unsupported_and_corrupt_files():
    with pytest.raises(ValueError, match="not a PNG"):
        decode_png(b"GIF89a")
    png = encode_png(np.zeros((2, 2, 1), np.uint8), 0, [0, 0])
    with pytest.raises(ValueError, match="unsupported"):
        decode_png(png.replace(struct.pack(">IIBB", 2, 2, 8, 0), struct.pack(">IIBB", 2, 2, 16, 0)))
    with pytest.raises(ValueError, match="corrupt"):
        decode_png(png[:40])
