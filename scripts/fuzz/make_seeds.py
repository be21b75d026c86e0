#!/usr/bin/env python3
"""Writes the seed corpora in Fuzzing/Corpus/<target>/ (Python standard library only; rerunnable).

Seeds are tiny valid inputs: copies of small test fixtures (torch archives, images) and files
built here (safetensors, raw DEFLATE, CSV/TSV, tar). Each file is at most a few KB.
"""
import io, json, os, shutil, struct, tarfile, zipfile, zlib

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
corpus = os.path.join(root, "Fuzzing", "Corpus")
weights = os.path.join(root, "Tests", "CLIPWeightsTests", "Fixtures")
images = os.path.join(root, "Tests", "CLIPImageTests", "Fixtures", "images")


def write(target, name, data):
    os.makedirs(os.path.join(corpus, target), exist_ok=True)
    with open(os.path.join(corpus, target, name), "wb") as f:
        f.write(data)


def copy(target, folder, name):
    with open(os.path.join(folder, name), "rb") as f:
        write(target, name, f.read())


def safetensors(tensors, metadata=None):
    header, data = {}, b""
    if metadata:
        header["__metadata__"] = metadata
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


for target in os.listdir(corpus) if os.path.isdir(corpus) else []:
    shutil.rmtree(os.path.join(corpus, target))

# safetensors
write("safetensors", "two.safetensors", safetensors({
    "visual.proj": ("F32", [2, 3], struct.pack("<6f", 1, 2, 3, 4, 5, 6)),
    "logit_scale": ("F16", [], struct.pack("<e", 4.6)),
}, {"format": "pt"}))
write("safetensors", "dtypes.safetensors", safetensors({
    "a": ("BF16", [2], b"\x80\x3f\x00\x40"), "b": ("I64", [1], struct.pack("<q", -1)),
    "c": ("U8", [0, 4], b""), "d": ("BOOL", [3], b"\x01\x00\x01"), "e": ("F64", [1], struct.pack("<d", 0.5)),
}))

# torch archives (zip + pickle + records) and their pickles
for name in ["compressed.pt", "views.pt", "scripted.pt", "disallowed-global.pt"]:
    copy("torch", weights, name)
    with zipfile.ZipFile(os.path.join(weights, name)) as z:
        pickle = next(n for n in z.namelist() if n.endswith("/data.pkl"))
        write("pickle", name.replace(".pt", ".pkl"), z.read(pickle))
for name in ["compressed.pt", "views.pt"]:
    copy("zip", weights, name)
deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
write("zip", "raw.deflate", deflate.compress(b"abcabcabc" * 40 + bytes(range(256))) + deflate.flush())
write("zip", "stored.deflate", zlib.compress(b"stored", 0)[2:-4])
buffer = io.BytesIO()
with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
    z.writestr("archive/byteorder", b"little")
write("zip", "deflated.zip", buffer.getvalue())

# images
for name in ["tiny_5x3.png", "one_pixel.png", "palette_short_plte.png", "camera_bilevel_interlaced.png",
             "i16_full_range.png"]:
    copy("png", images, name)
for name in ["cmyk_gradient.jpg", "odd_97x61.jpg"]:
    copy("jpeg", images, name)
for name in ["frame_offset.gif", "coffee_transparent.gif"]:
    copy("gif", images, name)
for name in ["chelsea_lossy.webp", "coffee_rgba_lossy.webp"]:
    copy("webp", images, name)

# tokenizer: UTF-8 text
for i, text in enumerate([
    "a photo of a cat", "A Diagram!!  of <|startoftext|> things?", "naïve café — 東京 🐱 ﬁne",
    "&amp; &lt;b&gt; don't can't won't 3.14 123456", "Ã©tÃ© mojibake\u0301 \u200b",
]):
    write("tokenizer", f"text{i}.txt", text.encode())

# csv / tsv: the first byte picks the separator (odd: comma, even: tab)
write("csv", "quoted.csv", b"\x01" + b'image,caption\n"a.jpg","a ""quoted"" cat, with comma"\r\nb.png,"two\nlines"\n')
write("csv", "plain.tsv", b"\x00" + "\ufeffpath\ttext\nx.jpg\tcafé\n\ny.jpg\t\n".encode())

# tar shards
def tar(members, fmt):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as t:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    # tarfile pads to a 10 KiB record; keep the members and the two zero end blocks.
    content = buffer.getvalue().rstrip(b"\0")
    return content + b"\0" * (-len(content) % 512 + 1024)

write("tar", "ustar.tar", tar([("000/a.jpg", b"\xff\xd8\xff"), ("000/a.txt", b"a cat")], tarfile.USTAR_FORMAT))
write("tar", "gnu-long.tar", tar([("d" * 120 + "/b.png", b"\x89PNG"), ("d" * 120 + "/b.txt", b"long")],
                                 tarfile.GNU_FORMAT))
write("tar", "pax.tar", tar([("caf\u00e9/c.webp", b"RIFF"), ("caf\u00e9/c.txt", b"pax")], tarfile.PAX_FORMAT))

for target in sorted(os.listdir(corpus)):
    files = os.listdir(os.path.join(corpus, target))
    size = sum(os.path.getsize(os.path.join(corpus, target, f)) for f in files)
    print(f"{target}: {len(files)} seeds, {size} bytes")
