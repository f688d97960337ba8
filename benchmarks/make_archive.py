#!/usr/bin/env python3
"""Writes a generated archive for memory and speed measurements: N lesion-like images (200x150 RGB PNG) with
masks at three times their size (600x450, as in HAM10000's segmentation release), in a plain images/ + masks/
folder. Standard library only (zlib PNGs), so it runs on any machine with Python 3.

    python3 benchmarks/make_archive.py 10000 /tmp/archive10k
"""
import math, os, random, struct, sys, zlib


def png(path, width, height, channels, rows):
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + r for r in rows)
    color = {1: 0, 3: 2}[channels]
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 3)) + chunk(b"IEND", b""))


def main(n, out):
    os.makedirs(os.path.join(out, "images"), exist_ok=True)
    os.makedirs(os.path.join(out, "masks"), exist_ok=True)
    rng = random.Random(0)
    for i in range(n):
        cx, cy = rng.uniform(0.35, 0.65), rng.uniform(0.35, 0.65)
        rx, ry = rng.uniform(0.12, 0.3), rng.uniform(0.12, 0.3)
        skin = [rng.randint(170, 230), rng.randint(120, 170), rng.randint(100, 150)]
        dark = rng.uniform(0.35, 0.6)

        def span(y, w, h):
            """The columns [x0, x1) of row y inside the ellipse, at a w x h resolution."""
            d = 1 - ((y + 0.5) / h - cy) ** 2 / ry ** 2
            if d <= 0:
                return 0, 0
            half = rx * math.sqrt(d) * w
            return max(0, math.ceil(cx * w - half - 0.5)), min(w, math.floor(cx * w + half - 0.5) + 1)

        noise = [rng.randint(-6, 6) for _ in range(600 + 150)]
        lit = bytes(max(0, min(255, skin[k % 3] + noise[k])) for k in range(600 + 150))
        shade = bytes(max(0, min(255, int(skin[k % 3] * dark) + noise[k])) for k in range(600 + 150))
        rows = []
        for y in range(150):
            x0, x1 = span(y, 200, 150)
            o = 3 * (y % 50)
            rows.append(lit[o:o + 3 * x0] + shade[o + 3 * x0:o + 3 * x1] + lit[o + 3 * x1:o + 600])
        name = f"ISIC_{i:07d}"
        png(os.path.join(out, "images", name + ".png"), 200, 150, 3, rows)
        mask_rows = []
        for y in range(450):
            x0, x1 = span(y, 600, 450)
            mask_rows.append(bytes(x0) + b"\xff" * (x1 - x0) + bytes(600 - x1))
        png(os.path.join(out, "masks", name + "_segmentation.png"), 600, 450, 1, mask_rows)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
