#!/usr/bin/env python3
"""Image fixtures for Tests/CLIPImageTests: real photographs (the sample images shipped in the
scikit-image 0.24.0 wheel) re-encoded in every format and mode swift-clip decodes, plus
generated edge cases, each with Pillow 13.0.0's result of OpenAI CLIP's preprocessing.

Rerun:  scripts/reference/venv && scripts/reference/.venv/bin/python scripts/reference/make_image_fixtures.py

The torchvision 0.20.1 steps OpenAI's `_transform` uses are written out below, line for line,
so the light venv (no torch) can regenerate everything; when torchvision is importable
(`scripts/reference/venv --torch`) the script also runs the real transforms and asserts that
both give identical uint8 pixels and float32 tensors:
  Resize(n, BICUBIC)  -> F.resize: `_compute_resized_output_size` (short side -> n, long side
                         -> int(n * long / short)); returns the image untouched when the size
                         is unchanged; otherwise `img.resize((w, h), BICUBIC)` (no reducing_gap).
  CenterCrop(n)       -> F.center_crop: zero padding if smaller, then
                         top = int(round((h - n) / 2.0)), left likewise; `img.crop(...)`.
  _convert_image_to_rgb -> image.convert("RGB")
  ToTensor            -> uint8 HWC -> CHW float32, / 255
  Normalize           -> (x - mean) / std in float32

Outputs (Tests/CLIPImageTests/Fixtures/):
  images/*            the input files
  expected/NAME_N.rgb uint8 RGB pixels (N, N, 3) after resize + crop + convert("RGB")
  expected/NAME_N.f32 a few full normalised tensors (3, N, N), float32 little-endian
  normalize_table.f32 (3, 256) float32: the normalised value of every byte per channel
  manifest.json       per image: Pillow's mode and size, FNV-1a 64 of the decoded samples,
                      the sizes N tested; plus error cases.
"""
import io
import json
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import skimage
from PIL import Image, ImageOps

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
OUT = ROOT / "Tests" / "CLIPImageTests" / "Fixtures"
IMAGES = OUT / "images"
EXPECTED = OUT / "expected"
SKDATA = Path(skimage.__file__).parent / "data"

MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)


# --- torchvision 0.20.1 transforms, written out (see the module docstring) ---------------

def tv_resize(im, n):
    w, h = im.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = n, int(n * long / short)
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    if (new_w, new_h) == (w, h):
        return im
    return im.resize((new_w, new_h), Image.Resampling.BICUBIC)


def tv_center_crop(im, n):
    w, h = im.size
    if n > w or n > h:
        pad = ((n - w) // 2 if n > w else 0, (n - h) // 2 if n > h else 0,
               (n - w + 1) // 2 if n > w else 0, (n - h + 1) // 2 if n > h else 0)
        if im.mode == "P":
            palette = im.getpalette()
            im = ImageOps.expand(im, border=pad, fill=0)
            im.putpalette(palette)
        else:
            im = ImageOps.expand(im, border=pad, fill=0)
        w, h = im.size
        if (w, h) == (n, n):
            return im
    top = int(round((h - n) / 2.0))
    left = int(round((w - n) / 2.0))
    return im.crop((left, top, left + n, top + n))


def clip_rgb(im, n):
    """uint8 (n, n, 3): what ToTensor receives."""
    rgb = tv_center_crop(tv_resize(im, n), n).convert("RGB")
    return np.asarray(rgb, dtype=np.uint8)


def normalise(rgb):
    x = rgb.astype(np.float32).transpose(2, 0, 1) / np.float32(255)
    return (x - MEAN[:, None, None]) / STD[:, None, None]


def torchvision_check(im, n, rgb):
    """With torchvision installed: the real transforms must agree with the written-out ones."""
    try:
        import torch
        from torchvision.transforms import CenterCrop, Compose, InterpolationMode, Normalize, Resize, ToTensor
    except ImportError:
        return False
    pil = Compose([Resize(n, interpolation=InterpolationMode.BICUBIC), CenterCrop(n)])(im).convert("RGB")
    assert np.array_equal(np.asarray(pil, dtype=np.uint8), rgb), "torchvision and the written-out steps disagree"
    tensor = Normalize(tuple(MEAN.tolist()), tuple(STD.tolist()))(ToTensor()(pil))
    assert tensor.dtype == torch.float32
    assert np.array_equal(tensor.numpy(), normalise(rgb)), "float32 normalisation differs from torchvision's"
    return True


def fnv1a64(data: bytes) -> str:
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def decoded_samples(im):
    """The samples as CLIPImage stores them: "1" as bytes 0/255, I;16 little-endian."""
    if im.mode == "1":
        return (np.asarray(im, dtype=np.uint8) * 255).astype(np.uint8).tobytes()
    if im.mode == "I;16":
        return np.asarray(im).astype("<u2").tobytes()
    return im.tobytes()


# --- a small PNG writer for what Pillow cannot save (16-bit RGB, 2/4-bit, interlaced) ------

ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _pack_rows(sub, bit_depth):
    out = bytearray()
    for row in sub:
        values = row.reshape(-1)
        if bit_depth == 16:
            data = values.astype(">u2").tobytes()
        elif bit_depth == 8:
            data = values.astype(np.uint8).tobytes()
        else:
            per = 8 // bit_depth
            padded = np.zeros(((len(values) + per - 1) // per) * per, dtype=np.uint8)
            padded[: len(values)] = values
            packed = np.zeros(len(padded) // per, dtype=np.uint8)
            for i in range(per):
                packed |= (padded[i::per] << (8 - bit_depth * (i + 1))).astype(np.uint8)
            data = packed.tobytes()
        out += b"\x00" + data  # filter type 0
    return bytes(out)


def write_png(path, samples, bit_depth, color_type, palette=None, trns=None, interlace=False):
    samples = np.asarray(samples)
    if samples.ndim == 2:
        samples = samples[:, :, None]
    h, w = samples.shape[:2]
    raw = b""
    if interlace:
        for x0, y0, dx, dy in ADAM7:
            sub = samples[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                raw += _pack_rows(sub, bit_depth)
    else:
        raw = _pack_rows(samples, bit_depth)
    png = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, int(interlace)))
    if palette is not None:
        png += _chunk(b"PLTE", bytes(palette))
    if trns is not None:
        png += _chunk(b"tRNS", bytes(trns))
    png += _chunk(b"IDAT", zlib.compress(raw, 9)) + _chunk(b"IEND", b"")
    path.write_bytes(png)


# --- a minimal GIF writer: a first frame smaller than the screen, at an offset --------------

def write_gif(path, screen, frame_box, indices, palette, transparency=None):
    """GIF89a with one image at frame_box = (left, top, width, height). LZW with 8-bit codes
    written as literals and a clear code before the table would grow past 9-bit codes."""
    left, top, width, height = frame_box
    out = bytearray(b"GIF89a" + struct.pack("<HH", *screen) + bytes([0xF7, 0, 0]))  # 256-entry global table
    out += bytes(palette[:768]) + bytes(768 - len(palette[:768]))
    if transparency is not None:
        out += bytes([0x21, 0xF9, 4, 1, 0, 0, transparency, 0])
    out += b"\x2C" + struct.pack("<HHHH", left, top, width, height) + b"\x00"
    clear, end = 256, 257
    codes, since_clear = [clear], 0
    for value in np.asarray(indices, dtype=np.uint8).reshape(-1):
        if since_clear == 254:  # the decoder's table would reach 512 entries: start over
            codes.append(clear)
            since_clear = 0
        codes.append(int(value))
        since_clear += 1
    codes.append(end)
    bits, nbits, data = 0, 0, bytearray()
    for code in codes:
        bits |= code << nbits
        nbits += 9
        while nbits >= 8:
            data.append(bits & 0xFF)
            bits >>= 8
            nbits -= 8
    if nbits:
        data.append(bits & 0xFF)
    out += bytes([8])
    for i in range(0, len(data), 255):
        block = data[i:i + 255]
        out += bytes([len(block)]) + block
    out += b"\x00\x3B"
    path.write_bytes(bytes(out))


# --- sources -------------------------------------------------------------------------------

def photo(name, size):
    """A real photograph from scikit-image, downsized with Pillow's LANCZOS."""
    im = Image.open(SKDATA / name)
    im.load()
    if im.mode not in ("RGB", "L"):
        im = im.convert("RGB")
    return im.resize(size, Image.Resampling.LANCZOS)


def main():
    IMAGES.mkdir(parents=True, exist_ok=True)
    EXPECTED.mkdir(parents=True, exist_ok=True)
    for d in (IMAGES, EXPECTED):
        for f in d.iterdir():
            f.unlink()

    chelsea = photo("chelsea.png", (320, 213))
    coffee = photo("coffee.png", (300, 200))
    astronaut = photo("astronaut.png", (256, 256))
    rocket = photo("rocket.jpg", (200, 300))
    camera = photo("camera.png", (160, 160))          # grey
    small_astronaut = photo("astronaut.png", (96, 96))
    small_coffee = photo("coffee.png", (120, 80))
    small_chelsea = photo("chelsea.png", (120, 80))

    files = {}  # name -> (path, sizes)

    def save(name, im, sizes=(64,), **kwargs):
        path = IMAGES / name
        im.save(path, **kwargs)
        files[name] = sizes

    def raw(name, sizes=(64,)):
        files[name] = sizes
        return IMAGES / name

    # JPEG
    save("chelsea_baseline.jpg", chelsea, sizes=(64, 224), quality=90)
    save("coffee_progressive.jpg", coffee, quality=85, progressive=True)
    save("chelsea_444.jpg", chelsea, quality=92, subsampling=0)
    save("coffee_422.jpg", coffee, quality=80, subsampling=1)
    save("astronaut_gray.jpg", astronaut.convert("L"), quality=88)
    save("rocket_cmyk.jpg", rocket.convert("CMYK"), quality=90)
    save("rocket_tall.jpg", rocket, sizes=(64, 96), quality=75)
    exif = Image.Exif()
    exif[0x0112] = 6
    save("chelsea_exif6.jpg", small_chelsea, quality=90, exif=exif.tobytes())

    # PNG (Pillow writes these)
    save("astronaut_rgb.png", small_astronaut)
    save("camera_l.png", camera)
    rgba = small_coffee.convert("RGBA")
    alpha = np.tile(np.linspace(0, 255, rgba.size[0]).astype(np.uint8), (rgba.size[1], 1))
    alpha[:10, :10] = 0
    rgba.putalpha(Image.fromarray(alpha))
    save("coffee_rgba.png", rgba)
    la = camera.convert("LA")
    la.putalpha(Image.fromarray(np.tile(np.linspace(255, 0, 160).astype(np.uint8)[:, None], (1, 160))))
    save("camera_la.png", la)
    pal = small_chelsea.convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    save("chelsea_palette_trns.png", pal, transparency=bytes([0, 128] + [255] * 62))
    save("camera_bilevel.png", camera.convert("1"), sizes=(64, 170))  # 170: nearest upscaling
    i16 = Image.fromarray((np.asarray(camera, dtype=np.uint16) * 2).astype(np.uint16))
    save("camera_i16.png", i16)

    # PNG (written by hand: Pillow cannot save these variants)
    coffee16 = np.asarray(small_coffee, dtype=np.uint16) * 257 + 3  # low bytes must be ignored
    write_png(raw("coffee_rgb16.png"), coffee16, 16, 2)
    rgba16 = np.concatenate([coffee16, (np.asarray(alpha, dtype=np.uint16) * 257)[:, :, None]], axis=2)
    write_png(raw("coffee_rgba16.png"), rgba16, 16, 6)
    cam = np.asarray(camera, dtype=np.uint16)
    write_png(raw("camera_la16.png"), np.stack([cam * 257, (255 - cam) * 257], axis=2), 16, 4)
    write_png(raw("camera_gray2.png"), np.asarray(camera) >> 6, 2, 0)
    write_png(raw("camera_gray4.png"), np.asarray(camera) >> 4, 4, 0)
    write_png(raw("astronaut_interlaced.png"), np.asarray(small_astronaut), 8, 2, interlace=True)
    write_png(raw("camera_i16_interlaced.png"), cam * 300, 16, 0, interlace=True)
    pal16 = small_chelsea.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    write_png(raw("chelsea_palette4.png", sizes=(64, 100)), np.asarray(pal16), 4, 3,
              palette=pal16.getpalette()[:48], trns=[0] * 3)
    pal2 = small_chelsea.convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    write_png(raw("chelsea_palette2_interlaced.png"), np.asarray(pal2), 2, 3,
              palette=pal2.getpalette()[:12], interlace=True)
    write_png(raw("camera_bilevel_interlaced.png"), (np.asarray(camera) > 100).astype(np.uint8), 1, 0, interlace=True)

    # WebP
    save("chelsea_lossy.webp", small_chelsea, quality=80)
    save("coffee_rgba_lossless.webp", rgba, lossless=True)
    save("coffee_rgba_lossy.webp", rgba, quality=70)

    # GIF (Pillow writes interlaced GIFs by default)
    save("chelsea.gif", small_chelsea.convert("P", palette=Image.Palette.ADAPTIVE, colors=128))
    save("camera_gray.gif", camera.convert("L"))
    gif_t = small_coffee.convert("P", palette=Image.Palette.ADAPTIVE, colors=32)
    save("coffee_transparent.gif", gif_t, transparency=5, interlace=False)
    frames = [small_chelsea.convert("P", palette=Image.Palette.ADAPTIVE, colors=64), small_coffee.resize((120, 80)).convert("P")]
    frames[0].save(raw("animated.gif"), save_all=True, append_images=frames[1:], duration=100, loop=0)

    pal_small = small_chelsea.resize((60, 40)).convert("P", palette=Image.Palette.ADAPTIVE, colors=200)
    palette = pal_small.getpalette()[:600]
    write_gif(raw("frame_offset.gif", sizes=(32, 64)), (90, 70), (17, 9, 60, 40), np.asarray(pal_small), palette)
    write_gif(raw("frame_offset_transparent.gif", sizes=(32,)), (90, 70), (5, 20, 60, 40), np.asarray(pal_small), palette, transparency=3)
    write_gif(raw("frame_outside_screen.gif", sizes=(32,)), (50, 30), (10, 5, 60, 40), np.asarray(pal_small), palette)

    # Palette indices past the PLTE entries (Pillow: black)
    write_png(raw("palette_short_plte.png", sizes=(16,)), (np.arange(40 * 30).reshape(30, 40) % 16).astype(np.uint8), 4, 3,
              palette=[255, 0, 0, 0, 255, 0, 0, 0, 255, 250, 250, 250])

    # Generated edge cases
    rng = np.random.default_rng(1234)
    save("tiny_5x3.png", Image.fromarray(rng.integers(0, 256, (3, 5, 3), dtype=np.uint8)), sizes=(64, 7))
    save("wide_1000x7.png", Image.fromarray(rng.integers(0, 256, (7, 1000, 3), dtype=np.uint8)), sizes=(5, 7, 16))
    save("tall_7x1000.png", Image.fromarray(rng.integers(0, 256, (1000, 7, 3), dtype=np.uint8)), sizes=(5, 7, 16))
    save("exact_64x100.png", small_coffee.resize((64, 100), Image.Resampling.BILINEAR), sizes=(64, 50))
    save("odd_97x61.jpg", small_chelsea.resize((97, 61), Image.Resampling.BILINEAR), sizes=(64, 31, 61), quality=95)
    save("one_pixel.png", Image.new("RGB", (1, 1), (200, 30, 90)), sizes=(3,))
    save("cmyk_gradient.jpg", Image.fromarray(np.dstack([
        np.tile(np.linspace(0, 255, 90, dtype=np.uint8), (70, 1)),
        np.tile(np.linspace(255, 0, 70, dtype=np.uint8)[:, None], (1, 90)),
        np.full((70, 90), 40, dtype=np.uint8),
        np.tile(np.linspace(0, 200, 90, dtype=np.uint8), (70, 1))]), mode="CMYK"), sizes=(32,), quality=95)
    la_edges = np.zeros((40, 50, 2), dtype=np.uint8)
    la_edges[:, :, 0] = rng.integers(0, 256, (40, 50))
    la_edges[:, :, 1] = rng.choice([0, 1, 128, 254, 255], (40, 50))
    save("la_alpha_edges.png", Image.fromarray(la_edges, mode="LA"), sizes=(32, 64))
    rgba_edges = np.dstack([rng.integers(0, 256, (40, 50, 3)), rng.choice([0, 1, 128, 254, 255], (40, 50))]).astype(np.uint8)
    save("rgba_alpha_edges.png", Image.fromarray(rgba_edges, mode="RGBA"), sizes=(32, 64))
    i16_edges = rng.integers(0, 65536, (30, 45), dtype=np.uint16)
    save("i16_full_range.png", Image.fromarray(i16_edges), sizes=(16, 64))
    # 16-bit grey, 512 x 512: ramps of 1500..3030 with blocks of 65535. The horizontal pass
    # overshoots 65535 beside the blocks; Pillow >= 12.3 clamps that to 65535 (CLIP16) where
    # 11.0 kept the low byte, and the vertical pass carries the difference into values below
    # 256, which survive convert("RGB"): 5 values differ by up to 10 between the two.
    rng16 = np.random.default_rng(14)
    yy, xx = np.mgrid[0:512, 0:512]
    i16_clamp = (1500 + 6 * ((xx + 2 * yy) % 256)).astype(np.uint16)
    for _ in range(40):
        x0, y0 = rng16.integers(0, 480, 2)
        w, h = rng16.integers(4, 40, 2)
        i16_clamp[y0:y0 + h, x0:x0 + w] = 65535
    save("i16_clamp_512.png", Image.fromarray(i16_clamp), sizes=(224,))

    # Error cases (no expected pixels)
    errors = {}
    bomb = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", 50000, 50000, 8, 2, 0, 0, 0)) + _chunk(b"IDAT", zlib.compress(b"\x00" * 100))
    (IMAGES / "bomb_50000x50000.png").write_bytes(bomb)
    errors["bomb_50000x50000.png"] = "tooManyPixels"
    zero = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", 0, 10, 8, 2, 0, 0, 0))
    (IMAGES / "zero_width.png").write_bytes(zero)
    errors["zero_width.png"] = "corrupt"  # libpng rejects a zero width in IHDR itself
    bmp = io.BytesIO()
    Image.new("RGB", (4, 4)).save(bmp, format="BMP")
    (IMAGES / "not_supported.bmp").write_bytes(bmp.getvalue())
    errors["not_supported.bmp"] = "unsupportedFormat"
    data = (IMAGES / "chelsea_baseline.jpg").read_bytes()
    (IMAGES / "truncated.jpg").write_bytes(data[: len(data) // 2])
    errors["truncated.jpg"] = "truncated"
    # A PNG named .jpg: formats come from content.
    (IMAGES / "png_named.jpg").write_bytes((IMAGES / "astronaut_rgb.png").read_bytes())
    files["png_named.jpg"] = (64,)

    table = np.stack([(np.arange(256, dtype=np.float32) / np.float32(255) - MEAN[c]) / STD[c] for c in range(3)])
    table.astype("<f4").tofile(OUT / "normalize_table.f32")

    full_tensors = {("chelsea_baseline.jpg", 64), ("rocket_cmyk.jpg", 64), ("coffee_rgba.png", 64)}
    checked_with_torchvision = 0
    manifest = {"pillow": Image.__version__, "mean": MEAN.tolist(), "std": STD.tolist(), "images": [], "errors": errors}
    for name in sorted(files):
        im = Image.open(IMAGES / name)
        im.load()
        entry = {"file": name, "mode": im.mode, "width": im.size[0], "height": im.size[1],
                 "fnv1a64": fnv1a64(decoded_samples(im)), "sizes": list(files[name])}
        for n in files[name]:
            rgb = clip_rgb(im, n)
            checked_with_torchvision += torchvision_check(im, n, rgb)
            stem = f"{name.replace('.', '_')}_{n}"
            rgb.tofile(EXPECTED / f"{stem}.rgb")
            if (name, n) in full_tensors:
                normalise(rgb).astype("<f4").tofile(EXPECTED / f"{stem}.f32")
        if name == "chelsea_exif6.jpg":
            upright = ImageOps.exif_transpose(im)
            entry["exif"] = {"width": upright.size[0], "height": upright.size[1]}
            clip_rgb(upright, 64).tofile(EXPECTED / f"{name.replace('.', '_')}_64_exif.rgb")
        manifest["images"].append(entry)
    try:
        import torchvision
        manifest["torchvision"] = torchvision.__version__.split("+")[0]
    except ImportError:
        manifest["torchvision"] = None
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    total = sum(f.stat().st_size for f in OUT.rglob("*") if f.is_file())
    print(f"{len(files)} images, {len(errors)} error cases, {total / 1024:.0f} KiB in {OUT.relative_to(ROOT)}; "
          f"{checked_with_torchvision} cases cross-checked against torchvision")


if __name__ == "__main__":
    main()
