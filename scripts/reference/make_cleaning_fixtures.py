"""Writes Tests/CLIPTextCleaningTests/Fixtures/cleaning.jsonl from text_corpus.corpus().

Each line: {"text": input, "fixed": ftfy.fix_text(input), "clean": the string OpenAI CLIP's
SimpleTokenizer (clip/simple_tokenizer.py) passes to its splitting regex}, i.e.
whitespace_clean(basic_clean(text)).lower() with ftfy 6.3.1 and the `regex` module.

Rerun:  scripts/reference/venv && scripts/reference/.venv/bin/python scripts/reference/make_cleaning_fixtures.py
"""

import html
import json
import os
import sys
import warnings

import ftfy
import regex as re

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import text_corpus  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "Tests", "CLIPTextCleaningTests", "Fixtures")
OUT = os.path.join(FIXTURES, "cleaning.jsonl")
FUZZ_OUT = os.path.join(FIXTURES, "cleaning_fuzz.jsonl")


MAX_CHARS = 2000


# --- verbatim semantics of clip/simple_tokenizer.py (OpenAI CLIP) ---
def basic_clean(text):
    text = ftfy.fix_text(text)
    text = html.unescape(html.unescape(text))
    return text.strip()


def whitespace_clean(text):
    text = re.sub(r"\s+", " ", text)
    text = text.strip()
    return text


def clip_clean(text):
    return whitespace_clean(basic_clean(text)).lower()
# ---


def fuzz_texts(count=1500, seed=1234):
    """Short random strings over the characters ftfy's regexes care about, so that every
    badness alternative, codec, lossy-byte and detector path is exercised, plus random
    mis-decodings of random text. Deterministic (seeded)."""
    import random

    import ftfy.bad_codecs  # noqa: F401
    from ftfy.badness import MOJIBAKE_CATEGORIES
    from ftfy.chardata import CHARMAP_ENCODINGS, UTF8_CLUES

    rng = random.Random(seed)
    pool = set()
    for cls in list(MOJIBAKE_CATEGORIES.values()) + list(UTF8_CLUES.values()):
        for c in cls:
            if c != "-":
                pool.add(c)
    for enc in CHARMAP_ENCODINGS:
        pool.update(bytes(range(0x80, 0x100)).decode(enc))
    pool.update("ÂÃÎÐØÙŒœ×àâ€‚Äвт√≈βāГўВЂ·°²³µ¹¼½¾ВГРСΒΓΞΟ\ufffd\x1a?")
    pool.update("aZq .,!?;&#<>'\"\n\r\t\x1b[0m\u2028\x85\u00a0\u3000ﬁ“”‘’ＡΣσİß")
    pool = sorted(pool)
    words = ["café", "naïve", "Straße", "Привет", "Καλημέρα", "日本", "😀", "“q”", "–—…", "Łódź",
             "€100", "™", "İ", "&amp;", "&#x41;", "&eacute;", "x"]
    out = []
    for i in range(count):
        kind = i % 3
        if kind == 0:
            s = "".join(rng.choice(pool) for _ in range(rng.randint(1, 10)))
        else:
            base = " ".join(rng.choice(words) for _ in range(rng.randint(1, 4)))
            enc = rng.choice(CHARMAP_ENCODINGS + ["windows-1252"])
            try:
                s = base.encode("utf-8").decode(enc, errors="replace")
            except LookupError:
                continue
            if kind == 2:  # damage: NBSP -> space, drop a char, or insert a pool char
                pos = rng.randint(0, len(s))
                op = rng.randint(0, 2)
                s = s.replace("\xa0", " ") if op == 0 else (s[:pos] + s[pos + 1:] if op == 1 else s[:pos] + rng.choice(pool) + s[pos:])
        out.append(s)
    return out


def unicode_fuzz_texts(count=600, entities=300, seed=4321):
    """Random code points from all planes, heavy on combining marks, composing starters,
    Hangul jamo, sigma and dotted I (NFC, str.lower, whitespace), plus random `&...` strings
    (html.unescape). Deterministic (seeded)."""
    import random

    rng = random.Random(seed)
    marks = list(range(0x300, 0x370)) + [0x1DC0, 0x20D0, 0x302A, 0x3099, 0x309A, 0x0F71, 0x0F72, 0x0F74,
                                          0x05B0, 0x0591, 0x0345, 0x1D165, 0x1D167, 0x093C, 0x094D, 0x0B3E,
                                          0x0CD5, 0x0DCA, 0x1B35, 0x110BA, 0x114BA]
    special = [0x3A3, 0x3C3, 0x130, 0x131, 0x49, 0x69, 0xDF, 0x1E9E, 0x2E, 0x27, 0xAD, 0x20, 0x200D, 0x1160,
               0x1161, 0x11A8, 0x1100, 0xAC00, 0xAC01, 0x0B47, 0x0CC6, 0x0DD9, 0x1B05, 0x110A5, 0x11131,
               0x1D15E, 0x2ADC, 0x0958, 0x1C, 0x85, 0xA0, 0x2028, 0x3000, 0x180E, 0x200B]

    def one():
        r = rng.random()
        if r < 0.3:
            return chr(rng.choice(marks))
        if r < 0.5:
            return chr(rng.randint(0x20, 0x24F))
        if r < 0.6:
            return chr(rng.choice(special))
        while True:
            c = rng.randint(0x80, 0x10FFFF) if rng.random() < 0.5 else rng.randint(0x80, 0xFFFF)
            if not 0xD800 <= c <= 0xDFFF:
                return chr(c)

    out = ["".join(one() for _ in range(rng.randint(1, 8))) for _ in range(count)]
    alphabet = "#xX0123456789abcdefABCDEFampltgquoteacutEACUTKopf;;&\u212a\u037e"
    out += ["&" + "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))) for _ in range(entities)]
    return out


def write(path, texts):
    with open(path, "w", encoding="utf-8") as f:
        for t in texts:
            row = {"text": t, "fixed": ftfy.fix_text(t), "clean": clip_clean(t)}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{path}: {len(texts)} rows, {os.path.getsize(path)} bytes")


def main():
    assert ftfy.__version__ == "6.3.1", ftfy.__version__
    warnings.simplefilter("ignore")
    # Very long corpus strings are capped to keep the committed fixture small; the Swift
    # tests cover long inputs separately (linear-time test).
    texts = [t[:MAX_CHARS] for t in text_corpus.corpus()]
    write(OUT, texts)
    print(f"corpus sources: {text_corpus.SOURCES}")
    write(FUZZ_OUT, fuzz_texts() + unicode_fuzz_texts())


if __name__ == "__main__":
    main()
