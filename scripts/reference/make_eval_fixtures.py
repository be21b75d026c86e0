#!/usr/bin/env python3
"""Reference values for swift-clip's evaluation metrics, computed with open_clip's own code.

Rerun (needs `scripts/reference/venv --torch`):
    scripts/reference/.venv/bin/python scripts/reference/make_eval_fixtures.py

Output: Tests/CLIPEvaluationTests/Fixtures/eval/metrics.json, read by EvaluationReferenceTests.

Cases (all seeded; features are float32, stored as the decimal repr of each float32 value):
  retrieval_one_caption  image/text features, text i describes image i; expected values from
                         open_clip_train.train.get_clip_metrics (open_clip 2.29.0): R@1/5/10,
                         mean and median rank in both directions.
  retrieval_captions     several captions per image; image->text uses LAION CLIP_benchmark's rule
                         (clip_benchmark/metrics/zeroshot_retrieval.py: an image is retrieved at k
                         when any of its captions is among its top k texts), written out below with
                         torch.topk as that file does; text->image is get_clip_metrics' rule with each
                         text's own image as the target. Ranks are also stored for mean/median rank.
  zeroshot               image features and class weights; expected top-1/top-5 from
                         open_clip_train.zero_shot.accuracy on logits = 100 * features @ weights.T.
Features are random Gaussian, so there are no exact ties (tie order differs between
torch.argsort/topk and swift-clip's documented index rule only for equal scores).
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

from open_clip_train.train import get_clip_metrics
from open_clip_train.zero_shot import accuracy

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "CLIPEvaluationTests", "Fixtures", "eval")


def f32_list(t):
    # repr of a Python float made from a float32 round-trips through Swift's Float(String).
    return [[float(np.float32(v)) for v in row] for row in t.tolist()]


def main():
    g = torch.Generator().manual_seed(2024)
    cases = {}

    # 1. One caption per image: open_clip's get_clip_metrics directly.
    n, e = 23, 6
    img = F.normalize(torch.randn(n, e, generator=g), dim=-1)
    # Texts correlated with their images so recall is neither 0 nor 1.
    txt = F.normalize(img + 0.9 * torch.randn(n, e, generator=g), dim=-1)
    m = get_clip_metrics(img, txt, torch.tensor(100.0))
    cases["retrieval_one_caption"] = {
        "image_features": f32_list(img), "text_features": f32_list(txt),
        "image_of_text": list(range(n)),
        "expected": {k: float(v) for k, v in m.items()},
    }

    # 2. Several captions per image.
    n = 11
    image_of_text = [i for i in range(n) for _ in range(1 + i % 3)]   # 1, 2 or 3 captions each
    img = F.normalize(torch.randn(n, e, generator=g), dim=-1)
    idx = torch.tensor(image_of_text)
    txt = F.normalize(img[idx] + 1.0 * torch.randn(len(image_of_text), e, generator=g), dim=-1)
    scores = img @ txt.T                                                   # (N, M)
    positive = torch.zeros_like(scores, dtype=torch.bool)
    positive[idx, torch.arange(len(image_of_text))] = True
    expected = {}
    order = torch.argsort(scores, dim=1, descending=True)                  # (N, M) text indices
    i2t_best = []
    for row in range(n):
        # Position of each text in this image's ranking; the best-placed positive counts.
        position = torch.empty(scores.shape[1], dtype=torch.long)
        position[order[row]] = torch.arange(scores.shape[1])
        i2t_best.append(int(position[positive[row]].min()))
    # Text -> image, get_clip_metrics' way: each text's own image as the target.
    t2i = torch.where(torch.argsort(scores.T, dim=1, descending=True) == idx.view(-1, 1))[1]
    for k in (1, 5, 10):
        # CLIP_benchmark: topk indices per image, any positive among them.
        topk = scores.topk(min(k, scores.shape[1]), dim=1).indices
        hit = float(positive.gather(1, topk).any(dim=1).numpy().mean())
        expected[f"image_to_text_R@{k}"] = hit
        assert abs(hit - np.mean(np.array(i2t_best) < k)) < 1e-12, (k, hit, i2t_best)
        expected[f"text_to_image_R@{k}"] = float(np.mean(t2i.numpy() < k))
    for name, preds in (("image_to_text", np.array(i2t_best)), ("text_to_image", t2i.numpy())):
        expected[f"{name}_mean_rank"] = float(preds.mean() + 1)
        expected[f"{name}_median_rank"] = float(np.floor(np.median(preds)) + 1)
    cases["retrieval_captions"] = {
        "image_features": f32_list(img), "text_features": f32_list(txt),
        "image_of_text": image_of_text, "expected": expected,
        "image_to_text_ranks": i2t_best, "text_to_image_ranks": [int(v) for v in t2i],
    }

    # 3. Zero-shot accuracy: 9 classes, 40 images.
    k, b = 9, 40
    weights = F.normalize(torch.randn(k, e, generator=g), dim=-1)
    labels = torch.randint(0, k, (b,), generator=g)
    feats = F.normalize(weights[labels] + 1.2 * torch.randn(b, e, generator=g), dim=-1)
    logits = 100.0 * feats @ weights.T
    acc1, acc5 = accuracy(logits, labels, topk=(1, 5))
    cases["zeroshot"] = {
        "image_features": f32_list(feats), "class_weights": f32_list(weights),
        "labels": labels.tolist(), "expected": {"top1": acc1 / b, "top5": acc5 / b},
    }

    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "metrics.json")
    with open(path, "w") as f:
        json.dump({"generator": "scripts/reference/make_eval_fixtures.py (open_clip 2.29.0, torch 2.5.1)",
                   "cases": cases}, f, indent=1)
        f.write("\n")
    print(path, os.path.getsize(path), "bytes")
    for name, case in cases.items():
        print(name, case["expected"])


if __name__ == "__main__":
    main()
