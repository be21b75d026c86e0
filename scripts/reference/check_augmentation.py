#!/usr/bin/env python3
"""Fixtures for the training augmentation (Tests/CLIPTrainingTests/Fixtures/data/).

open_clip's train transform (open_clip/transform.py, `image_transform(is_train=True)`) is
torchvision's RandomResizedCrop(size, scale=(0.9, 1.0), interpolation=BICUBIC) followed by
convert("RGB"), ToTensor, Normalize. Our random boxes come from our own generator, so this
script checks the deterministic part: for fixed boxes (top, left, height, width) it stores
torchvision's `F.resized_crop(img, top, left, h, w, [size, size], BICUBIC)` + convert("RGB")
as uint8 RGB, which `CLIPPreprocessor.resizedCrop` must reproduce exactly.

Rerun:  scripts/reference/.venv/bin/python scripts/reference/check_augmentation.py
Outputs: augmentation/*.png (inputs, generated below), augmentation.json (boxes, sizes and
the expected pixels as hex).
"""
import json
from pathlib import Path

import numpy as np
from PIL import Image
import torchvision.transforms.functional as F
from torchvision.transforms import InterpolationMode

OUT = Path(__file__).resolve().parents[2] / "Tests/CLIPTrainingTests/Fixtures/data"


def inputs():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:37, 0:53]
    rgb = np.stack([(xx * 5) % 256, (yy * 7) % 256, ((xx + yy) * 3) % 256], -1).astype(np.uint8)
    rgb[10:20, 5:30] = rng.integers(0, 256, (10, 25, 3), dtype=np.uint8)
    images = {"rgb": Image.fromarray(rgb, "RGB")}
    rgba = np.concatenate([rgb, ((xx * 4) % 256).astype(np.uint8)[..., None]], -1)
    images["rgba"] = Image.fromarray(rgba, "RGBA")
    images["gray"] = Image.fromarray(rgb[..., 1], "L")
    images["palette"] = images["rgb"].quantize(16)
    return images


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "augmentation").mkdir(exist_ok=True)
    cases = []
    boxes = [(0, 0, 37, 53), (3, 5, 30, 40), (10, 0, 20, 21), (0, 10, 37, 37), (5, 7, 9, 12)]
    for name, image in inputs().items():
        path = OUT / "augmentation" / f"{name}.png"
        image.save(path)
        image = Image.open(path)  # as the loader sees it: decoded from the file
        for size in (16, 24):
            for top, left, h, w in boxes:
                out = F.resized_crop(image, top, left, h, w, [size, size], InterpolationMode.BICUBIC)
                rgb = np.asarray(out.convert("RGB"), dtype=np.uint8)
                cases.append({"image": f"augmentation/{name}.png", "mode": image.mode, "size": size,
                              "top": top, "left": left, "height": h, "width": w, "rgb": rgb.tobytes().hex()})
    (OUT / "augmentation.json").write_text(json.dumps({"cases": cases}, indent=0) + "\n")
    print(f"{len(cases)} cases -> {OUT}")


if __name__ == "__main__":
    main()
