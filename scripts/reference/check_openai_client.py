#!/usr/bin/env python3
"""The OpenAI Python client against `clip serve`: `embeddings.create` must return `clip embed`'s rows.

    scripts/reference/venv --client                    # once: the OpenAI client, pinned
    swift build --product clip --product clip-server   # or -c release; set CLIP_BIN_DIR accordingly
    scripts/reference/.venv/bin/python scripts/reference/check_openai_client.py [--model PATH]

Starts clip-server on 127.0.0.1 (a free port) with the bundled demo model, calls
`client.embeddings.create` with the client's default encoding (base64, decoded by the client)
and with encoding_format="float", and compares both with `clip embed --text ...` bit for bit
(one request and one `clip embed` call on the same texts, so both run the same batch).
Exits 0 when equal, 1 otherwise.
"""
import argparse
import json
import os
import re
import struct
import subprocess
import sys
import time

from openai import OpenAI

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("CLIP_BIN_DIR", os.path.join(ROOT, ".build", "debug"))
DEMO = os.path.join(ROOT, "Sources", "clip", "Resources", "demo", "model.safetensors")
TEXTS = ["one small red circle", "two large green squares at the top", "a blue triangle at the bottom"]


def as_float32(values):
    # The server's floats are float32; Python parses them as float64: round-trip through float32.
    return [struct.unpack("<f", struct.pack("<f", v))[0] for v in values]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=DEMO)
    args = parser.parse_args()
    out = subprocess.run([os.path.join(BIN, "clip"), "embed", "--model", args.model,
                          *[a for t in TEXTS for a in ("--text", t)]],
                         check=True, capture_output=True, text=True).stdout
    expected = [as_float32(row) for row in json.loads(out)["text_embeddings"]]

    server = subprocess.Popen([os.path.join(BIN, "clip-server"), "--model", args.model, "--port", "0",
                               "--log-level", "warning"], stdout=subprocess.PIPE, text=True)
    try:
        port = int(re.search(r":(\d+)\s*$", server.stdout.readline()).group(1))
        client = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused", max_retries=20)
        ok = True
        for fmt in (None, "float"):
            kwargs = {} if fmt is None else {"encoding_format": fmt}
            response = client.embeddings.create(model="clip", input=TEXTS, **kwargs)
            rows = [as_float32(item.embedding) for item in response.data]
            same = rows == expected
            diff = max(abs(a - b) for r, e in zip(rows, expected) for a, b in zip(r, e))
            print(f"encoding {fmt or 'default (base64)'}: {len(rows)} rows of {len(rows[0])}, "
                  f"max |openai client − clip embed| = {diff} -> {'equal' if same else 'DIFFERENT'}")
            ok = ok and same
        print(f"model: {response.model}, usage: {response.usage}")
        return 0 if ok else 1
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
