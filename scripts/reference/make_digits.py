#!/usr/bin/env python3
"""A digits zero-shot folder for int8 agreement checks: DIR/0 … DIR/9, N PNGs each.

    scripts/reference/.venv/bin/python scripts/reference/make_digits.py DIR [--per-class 100] [--seed 0]

Each image is a 96 × 96 RGB picture of one handwritten-looking digit: Pillow's bundled default
font (Pillow 13, FreeType) at a random size, position, rotation and colour on a random
background colour, with a little noise. Deterministic for a seed. Class folders are named by the
digit, so `clip eval --zeroshot-folder DIR` and `clip-bench int8-agreement --zeroshot-folder DIR`
prompt with the digit itself ("a photo of a 7."). Nothing is learnt from these images: they
measure whether int8 changes a model's top-1, not how well it reads digits.
"""
import argparse
import os
import random
import sys

from PIL import Image, ImageDraw, ImageFont

PILLOW_VERSION = "13.0.0"  # the version the README's figures were made with


def digit_image(rng, digit):
    size = 96
    background = tuple(rng.randrange(0, 256) for _ in range(3))
    # A foreground far enough from the background to stay legible.
    while True:
        foreground = tuple(rng.randrange(0, 256) for _ in range(3))
        if sum(abs(a - b) for a, b in zip(foreground, background)) > 240:
            break
    glyph = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    font = ImageFont.load_default(size=rng.randrange(36, 72))
    draw = ImageDraw.Draw(glyph)
    left, top, right, bottom = draw.textbbox((0, 0), str(digit), font=font)
    x = rng.randrange(0, max(1, size - (right - left))) - left
    y = rng.randrange(0, max(1, size - (bottom - top))) - top
    draw.text((x, y), str(digit), font=font, fill=foreground + (255,))
    glyph = glyph.rotate(rng.uniform(-20, 20), resample=Image.BICUBIC)
    image = Image.new("RGB", (size, size), background)
    image.paste(glyph, (0, 0), glyph)
    pixels = image.load()
    for _ in range(size * size // 20):
        px, py = rng.randrange(size), rng.randrange(size)
        pixels[px, py] = tuple(min(255, max(0, c + rng.randrange(-40, 41))) for c in pixels[px, py])
    return image


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--per-class", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    import PIL
    if PIL.__version__ != PILLOW_VERSION:
        print(f"note: Pillow {PIL.__version__}, the README's figures used {PILLOW_VERSION}")
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        sys.exit(f"error: {args.out} exists and is not a folder (give a folder for the class subfolders)")
    if args.per_class < 1:
        sys.exit("error: --per-class must be at least 1")
    rng = random.Random(args.seed)
    for digit in range(10):
        folder = os.path.join(args.out, str(digit))
        os.makedirs(folder, exist_ok=True)
        for i in range(args.per_class):
            path = os.path.join(folder, f"{i:04d}.png")
            temporary = path + ".tmp.png"
            digit_image(rng, digit).save(temporary)
            os.replace(temporary, path)
    print(f"wrote {10 * args.per_class} images to {args.out}")


if __name__ == "__main__":
    main()
