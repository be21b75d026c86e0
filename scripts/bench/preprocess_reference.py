#!/usr/bin/env python3
"""Pillow reference for scripts/bench/preprocess.sh: OpenAI CLIP's `_transform` on each file,
one image at a time in one process on one core (as a DataLoader worker runs it). Runs the same
steps written out with Pillow + numpy (see scripts/reference/make_image_fixtures.py) and, when
importable, torchvision's transforms (torch limited to 1 thread, as in DataLoader workers).
Prints images/s for each; the last `images_per_second=` line is the faster one. `pool` runs the
faster pipeline in W worker processes (a multiprocessing pool, as DataLoader workers would, each
returning its tensor to the parent) and prints wall-clock images/s.

  preprocess_reference.py make DIR      write the benchmark photos (scikit-image samples as JPEG)
  preprocess_reference.py run N R FILE...
  preprocess_reference.py pool W N R FILE...
"""
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)


def numpy_transform(n):
    def transform(im):
        w, h = im.size
        short, long = (w, h) if w <= h else (h, w)
        size = (n, int(n * long / short)) if w <= h else (int(n * long / short), n)
        if size != (w, h):
            im = im.resize(size, Image.Resampling.BICUBIC)
        w, h = im.size
        top, left = int(round((h - n) / 2.0)), int(round((w - n) / 2.0))
        im = im.crop((left, top, left + n, top + n)).convert("RGB")
        x = np.asarray(im, dtype=np.uint8).astype(np.float32).transpose(2, 0, 1) / np.float32(255)
        return (x - MEAN[:, None, None]) / STD[:, None, None]
    return transform, "Pillow + numpy (torchvision steps written out)", "numpy"


def torchvision_transform(n):
    import torch
    torch.set_num_threads(1)
    from torchvision.transforms import CenterCrop, Compose, InterpolationMode, Normalize, Resize, ToTensor
    t = Compose([Resize(n, interpolation=InterpolationMode.BICUBIC), CenterCrop(n),
                 lambda im: im.convert("RGB"), ToTensor(), Normalize(tuple(MEAN.tolist()), tuple(STD.tolist()))])
    return t, "Pillow + torchvision", "torchvision"


def make(directory):
    import skimage
    data = Path(skimage.__file__).parent / "data"
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    names = ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png",
             "hubble_deep_field.jpg", "retina.jpg", "coins.png", "camera.png", "immunohistochemistry.png"]
    for name in names:
        path = data / name
        if not path.exists():
            continue
        im = Image.open(path).convert("RGB")
        im.save(out / (path.stem + ".jpg"), quality=90)
        # A 2x version: phone-camera-like sizes, where decoding dominates.
        im.resize((im.size[0] * 2, im.size[1] * 2), Image.Resampling.BICUBIC).save(out / (path.stem + "_2x.jpg"), quality=90)


def run(n, repeats, files):
    variants = [numpy_transform(n)]
    try:
        variants.append(torchvision_transform(n))
    except ImportError:
        pass
    best = best_cpu = 0.0
    for transform, label, tag in variants:
        rate, cpu_rate = measure(transform, label, repeats, files)
        print(f"{tag}_images_per_second={rate:.2f}")
        print(f"{tag}_images_per_cpu_second={cpu_rate:.2f}")
        best, best_cpu = max(best, rate), max(best_cpu, cpu_rate)
    print(f"images_per_second={best:.2f}")
    print(f"images_per_cpu_second={best_cpu:.2f}")


def measure(transform, label, repeats, files):
    def one_pass():
        s = 0.0
        for f in files:
            with Image.open(f) as im:
                s += float(np.asarray(transform(im))[0, 0, 0])
        return s
    one_pass()
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(repeats):
        one_pass()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    images = len(files) * repeats
    print(f"{label} (1 core): {len(files)} images x {repeats} in {seconds:.3f} s wall, {cpu:.3f} s CPU: "
          f"{images / seconds:.1f} images/s, {images / cpu:.1f} images per CPU-second")
    return images / seconds, images / cpu


_worker_transform = None


def _init_worker(n):
    global _worker_transform
    try:
        _worker_transform = torchvision_transform(n)[0]
    except ImportError:
        _worker_transform = numpy_transform(n)[0]


def _preprocess_file(path):
    with Image.open(path) as im:
        return np.asarray(_worker_transform(im))


def pool(workers, n, repeats, files):
    import multiprocessing
    with multiprocessing.get_context("fork").Pool(workers, initializer=_init_worker, initargs=(n,)) as p:
        s = sum(float(x[0, 0, 0]) for x in p.imap(_preprocess_file, files))  # warm-up: imports, page cache
        start = time.perf_counter()
        for _ in range(repeats):
            s += sum(float(x[0, 0, 0]) for x in p.imap(_preprocess_file, files))
        seconds = time.perf_counter() - start
    images = len(files) * repeats
    print(f"Pillow + torchvision, {workers} worker processes: {len(files)} images x {repeats} in {seconds:.3f} s wall: "
          f"{images / seconds:.1f} images/s (checksum {s:.4f})")
    print(f"pool_images_per_second={images / seconds:.2f}")


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
    elif sys.argv[1] == "pool":
        pool(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5:])
    else:
        run(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:])
