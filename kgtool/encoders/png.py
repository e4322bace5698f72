"""A minimal PNG decoder (8-bit, non-interlaced), so image folders need no imaging package."""

from __future__ import annotations

import struct
import zlib

import numpy as np

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}  # colour type → samples per pixel: grey, RGB, grey+alpha, RGBA


def decode_png(data: bytes) -> np.ndarray:
    """Pixels of an 8-bit, non-interlaced grey, grey+alpha, RGB or RGBA PNG.

    Raises ValueError on anything else or on corrupt data (callers add the file name).

    :return: shape: (height, width, channels), dtype uint8
    """
    if not data.startswith(_SIGNATURE):
        raise ValueError("not a PNG file")
    header, compressed, position = None, [], len(_SIGNATURE)
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        chunk = data[position + 8 : position + 8 + length]
        position += 12 + length  # length, type, data, CRC
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            compressed.append(chunk)
        elif kind == b"IEND":
            break
    if header is None:
        raise ValueError("PNG has no IHDR chunk")
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in _CHANNELS or interlace:
        raise ValueError(
            f"unsupported PNG (bit depth {depth}, colour type {colour}, interlace {interlace}); "
            "only 8-bit non-interlaced grey/RGB(A) is read"
        )
    channels = _CHANNELS[colour]
    stride = width * channels
    try:
        rows = np.frombuffer(zlib.decompress(b"".join(compressed)), np.uint8).reshape(height, stride + 1)
    except (zlib.error, ValueError) as error:
        raise ValueError(f"corrupt PNG data ({error})") from None
    pixels = np.zeros((height, stride), np.uint8)
    previous = [0] * stride
    for y in range(height):
        current = _unfilter(int(rows[y, 0]), rows[y, 1:].tolist(), previous, channels)
        pixels[y] = current
        previous = current
    return pixels.reshape(height, width, channels)


def _unfilter(kind: int, line: list[int], previous: list[int], bpp: int) -> list[int]:
    """Undo one row's filter (PNG spec §9): each byte was stored minus a predictor of it."""
    if kind not in range(5):
        raise ValueError(f"unknown PNG filter type {kind}")
    current = [0] * len(line)
    for i, byte in enumerate(line):
        left = current[i - bpp] if i >= bpp else 0
        up = previous[i]
        up_left = previous[i - bpp] if i >= bpp else 0
        predictor = (0, left, up, (left + up) // 2, _paeth(left, up, up_left))[kind]
        current[i] = (byte + predictor) % 256
    return current


def _paeth(left: int, up: int, up_left: int) -> int:
    estimate = left + up - up_left
    distances = (abs(estimate - left), abs(estimate - up), abs(estimate - up_left))
    return (left, up, up_left)[distances.index(min(distances))]
