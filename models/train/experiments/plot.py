"""A minimal line-plot PNG writer (numpy + zlib), for machines without matplotlib."""
from __future__ import annotations

import struct
import zlib

import numpy as np

# 3x5 bitmap font: each glyph is 5 rows of 3 bits (MSB = left pixel).
_FONT = {
    "0": (7, 5, 5, 5, 7), "1": (2, 6, 2, 2, 7), "2": (7, 1, 7, 4, 7),
    "3": (7, 1, 7, 1, 7), "4": (5, 5, 7, 1, 1), "5": (7, 4, 6, 1, 6), "6": (7, 4, 7, 5, 7),
    "7": (7, 1, 1, 1, 1), "8": (7, 5, 7, 5, 7), "9": (7, 5, 7, 1, 7), "-": (0, 0, 7, 0, 0),
    ".": (0, 0, 0, 0, 2), " ": (0, 0, 0, 0, 0), "(": (1, 2, 2, 2, 1), ")": (4, 2, 2, 2, 4),
    "/": (1, 1, 2, 4, 4), ":": (0, 2, 0, 2, 0), "+": (0, 2, 7, 2, 0), "=": (0, 7, 0, 7, 0),
    "A": (2, 5, 7, 5, 5), "B": (6, 5, 6, 5, 6), "C": (7, 4, 4, 4, 7), "D": (6, 5, 5, 5, 6),
    "E": (7, 4, 6, 4, 7), "F": (7, 4, 6, 4, 4), "G": (7, 4, 5, 5, 7), "H": (5, 5, 7, 5, 5),
    "I": (7, 2, 2, 2, 7), "J": (1, 1, 1, 5, 7), "K": (5, 5, 6, 5, 5), "L": (4, 4, 4, 4, 7),
    "M": (5, 7, 7, 5, 5), "N": (6, 5, 5, 5, 5), "O": (7, 5, 5, 5, 7), "P": (7, 5, 7, 4, 4),
    "Q": (7, 5, 5, 7, 1), "R": (6, 5, 6, 5, 5), "S": (7, 4, 7, 1, 7), "T": (7, 2, 2, 2, 2),
    "U": (5, 5, 5, 5, 7), "V": (5, 5, 5, 5, 2), "W": (5, 5, 7, 7, 5), "X": (5, 5, 2, 5, 5),
    "Y": (5, 5, 2, 2, 2), "Z": (7, 1, 2, 4, 7),
}
COLOURS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
           (140, 86, 75), (127, 127, 127), (227, 119, 194), (188, 189, 34), (23, 190, 207)]


def text(img: np.ndarray, x: int, y: int, s: str, colour=(0, 0, 0), scale: int = 2) -> None:
    for ch in s.upper():
        rows = _FONT.get(ch, _FONT[" "])
        for r, bits in enumerate(rows):
            for c in range(3):
                if bits >> (2 - c) & 1:
                    img[y + r * scale:y + (r + 1) * scale, x + c * scale:x + (c + 1) * scale] = colour
        x += 4 * scale


def line(img: np.ndarray, x0: float, y0: float, x1: float, y1: float, colour, width: int = 2) -> None:
    n = int(max(abs(x1 - x0), abs(y1 - y0))) + 1
    xs = np.linspace(x0, x1, n).round().astype(int)
    ys = np.linspace(y0, y1, n).round().astype(int)
    h, w = img.shape[:2]
    for dx in range(-(width // 2), width - width // 2):
        for dy in range(-(width // 2), width - width // 2):
            ok = (xs + dx >= 0) & (xs + dx < w) & (ys + dy >= 0) & (ys + dy < h)
            img[ys[ok] + dy, xs[ok] + dx] = colour


def write_png(path: str, img: np.ndarray) -> None:
    h, w = img.shape[:2]
    raw = b"".join(b"\x00" + img[r].astype(np.uint8).tobytes() for r in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def plot(path: str, series: dict[str, tuple[list[float], list[float]]], title: str,
         xlabel: str, ylabel: str, hlines: dict[str, float] | None = None,
         size: tuple[int, int] = (900, 560)) -> None:
    """Line plot of named (x, y) series (plus labelled horizontal lines) written as a PNG."""
    w, h = size
    img = np.full((h, w, 3), 255, np.uint8)
    left, right, top, bottom = 80, 220, 40, 60
    xs = [v for x, _ in series.values() for v in x] or [0, 1]
    ys = [v for _, y in series.values() for v in y] + list((hlines or {}).values()) or [0, 1]
    x_lo, x_hi = min(xs), max(max(xs), min(xs) + 1e-9)
    y_lo, y_hi = min(ys), max(ys)
    pad = 0.05 * max(y_hi - y_lo, 1e-6)
    y_lo, y_hi = y_lo - pad, y_hi + pad
    px = lambda v: left + (v - x_lo) / (x_hi - x_lo) * (w - left - right)
    py = lambda v: h - bottom - (v - y_lo) / (y_hi - y_lo) * (h - top - bottom)
    line(img, left, h - bottom, w - right, h - bottom, (0, 0, 0), 1)
    line(img, left, top, left, h - bottom, (0, 0, 0), 1)
    span = y_hi - y_lo  # enough decimals that the six tick labels differ
    dec = 1 if span >= 2.5 else 2 if span >= 0.25 else 3
    for k in range(6):
        xv = x_lo + k * (x_hi - x_lo) / 5
        yv = y_lo + k * (y_hi - y_lo) / 5
        line(img, px(xv), h - bottom, px(xv), h - bottom + 5, (0, 0, 0), 1)
        text(img, int(px(xv)) - 12, h - bottom + 10, f"{xv:.0f}")
        line(img, left - 5, py(yv), left, py(yv), (0, 0, 0), 1)
        line(img, left + 1, py(yv), w - right, py(yv), (225, 225, 225), 1)
        text(img, 10, int(py(yv)) - 5, f"{yv:.{dec}f}")
    text(img, left, 10, title)
    text(img, (w - right) // 2, h - 25, xlabel)
    text(img, 10, top - 20, ylabel)
    ly = top
    for i, (name, (x, y)) in enumerate(series.items()):
        c = COLOURS[i % len(COLOURS)]
        for j in range(1, len(x)):
            line(img, px(x[j - 1]), py(y[j - 1]), px(x[j]), py(y[j]), c)
        if len(x) == 1:
            line(img, px(x[0]) - 2, py(y[0]), px(x[0]) + 2, py(y[0]), c, 4)
        line(img, w - right + 10, ly + 5, w - right + 30, ly + 5, c, 3)
        text(img, w - right + 36, ly, name)
        ly += 20
    for name, v in (hlines or {}).items():
        for xx in range(int(px(x_lo)), int(px(x_hi)), 12):
            line(img, xx, py(v), xx + 6, py(v), (90, 90, 90), 1)
        text(img, w - right + 36, ly, name)
        line(img, w - right + 10, ly + 5, w - right + 30, ly + 5, (90, 90, 90), 1)
        ly += 20
    write_png(path, img)
