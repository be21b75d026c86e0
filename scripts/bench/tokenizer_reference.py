#!/usr/bin/env python3
"""Helper of scripts/bench/tokenizer.sh.

  tokenizer_reference.py texts OUT.jsonl      the tokenizer fixture's strings, one JSON string per line
  tokenizer_reference.py run TEXTS.jsonl R    OpenAI's SimpleTokenizer (clip-anytorch 2.6.0 via
                                              make_tokenizer_fixtures.py) on them: clip.tokenize's
                                              encode + SOT/EOT + truncation to 77, one cold pass, then
                                              R warm passes (the Python cache is warm, like Swift's)
"""
import gzip
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts/reference"))


def texts_command(out):
    fixture = ROOT / "Tests/CLIPTokenizerTests/Fixtures/tokens.jsonl.gz"
    with gzip.open(fixture, "rt", encoding="utf-8") as f, open(out, "w", encoding="utf-8") as g:
        for line in f:
            g.write(json.dumps(json.loads(line)["text"], ensure_ascii=False) + "\n")


def run_command(path, repeats):
    import make_tokenizer_fixtures as fixtures
    texts = [json.loads(line) for line in open(path, encoding="utf-8")]
    megabytes = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    start = time.perf_counter()
    tok = fixtures.reference_module().SimpleTokenizer(str(fixtures.BUNDLED_MERGES))
    load = time.perf_counter() - start

    def one_pass():
        return [fixtures.clip_tokenize(tok, t) for t in texts]

    # CPU time of this thread, like the Swift side, so other load on the shared cores cancels out.
    start = time.thread_time()
    one_pass()
    cold = time.thread_time() - start
    start = time.thread_time()
    for _ in range(repeats):
        one_pass()
    warm = (time.thread_time() - start) / repeats
    print(f"python SimpleTokenizer: load {load:.3f} s; {len(texts)} strings, {megabytes:.3f} MB")
    for label, seconds in (("cold cache", cold), ("warm cache", warm)):
        print(f"python SimpleTokenizer ({label}, 1 core, CPU time): {seconds:.4f} s per pass: "
              f"{len(texts) / seconds:.0f} strings/s, {megabytes / seconds:.2f} MB/s")
    print(f"strings_per_second={len(texts) / warm:.1f}")


if __name__ == "__main__":
    if sys.argv[1] == "texts":
        texts_command(sys.argv[2])
    else:
        run_command(sys.argv[2], int(sys.argv[3]))
