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
OUT = os.path.join(ROOT, "Tests", "CLIPTextCleaningTests", "Fixtures", "cleaning.jsonl")


MAX_CHARS = 3000


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


def main():
    assert ftfy.__version__ == "6.3.1", ftfy.__version__
    warnings.simplefilter("ignore")
    # Very long corpus strings are capped to keep the committed fixture small; the Swift
    # tests cover long inputs separately (linear-time test).
    texts = [t[:MAX_CHARS] for t in text_corpus.corpus()]
    with open(OUT, "w", encoding="utf-8") as f:
        for t in texts:
            row = {"text": t, "fixed": ftfy.fix_text(t), "clean": clip_clean(t)}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{OUT}: {len(texts)} rows, {os.path.getsize(OUT)} bytes; sources {text_corpus.SOURCES}")


if __name__ == "__main__":
    main()
