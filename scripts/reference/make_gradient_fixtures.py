#!/usr/bin/env python3
"""Writes whole-model gradient fixtures: tiny random OpenAI CLIPs, one batch, the contrastive loss,
every parameter's gradient and the BatchNorm running statistics after one training-mode forward.

Rerun (needs `scripts/reference/venv --torch`):
    scripts/reference/.venv/bin/python scripts/reference/make_gradient_fixtures.py

Output: Tests/CLIPTrainingTests/Fixtures/gradients/ (README.md there describes every file).
Everything is seeded; rerunning with the pinned versions (torch 2.5.1, clip-anytorch 2.6.0,
safetensors 0.4.5) rewrites the same bytes.

Models (OpenAI `clip/model.py` via clip-anytorch, as scripts/reference/make_weight_fixtures.py):
  vit  ViT CLIP, QuickGELU: image 16, patch 4 (16 patches + class token), vision width 16, 2 layers,
       2 heads; text width 16, 2 layers, 2 heads; embed 16.
  rn   modified-ResNet CLIP: image 64, vision width 2, layers (1, 1, 1, 1) (BatchNorm everywhere,
       attention pool 64 wide with 1 head over a 2x2 grid); text width 8, 1 layer, 2 heads; embed 16.
Both: context 77, vocabulary 100 (SOT 98, EOT 99, padding 0). OpenAI's width // 64 rule gives 0
heads at these widths, so the heads are set explicitly and recorded in gradients.json.

The loss is open_clip's ClipLoss (open_clip/loss.py, world size 1): features L2-normalised,
logits_per_image = logit_scale.exp() * image @ text.T, logits_per_text = its transpose,
loss = (CE(logits_per_image, arange(B)) + CE(logits_per_text, arange(B))) / 2. The model is in
train() mode: BatchNorm normalises with batch statistics (biased variance) and updates its running
statistics (momentum 0.1, unbiased variance, num_batches_tracked + 1).

The reference is computed in float64 from the float32 weights and pixels (so the stored gradients
carry no float32 noise of their own); the float32 torch run is compared with it and the gap
reported in gradients.json ("torch_float32_vs_float64"), which is the precision a float32
implementation can be expected to reach.
"""
import copy
import json
import os
from collections import OrderedDict

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

import clip.model as openai_model  # clip-anytorch 2.6.0: OpenAI's clip/model.py
# Random init leaves biases at 0, norm gains at 1 and OpenAI zeroes every bn3 gain (which would
# cut the gradient of the conv branches): the weight fixtures' perturbation adds noise to every
# 1-D tensor and random running variances, so a dropped bias or a missing branch shows.
from make_weight_fixtures import perturb_small_params as perturb

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(ROOT, "Tests", "CLIPTrainingTests", "Fixtures", "gradients")

VOCAB = 100          # SOT = VOCAB - 2, EOT = VOCAB - 1
CONTEXT = 77
EMBED = 16
BATCH = 4

CONFIGS = {
    "vit": {"architecture": "vit", "image_size": 16, "embed_dim": EMBED, "context_length": CONTEXT,
            "vocab_size": VOCAB, "activation": "quick_gelu",
            "vision": {"width": 16, "layers": 2, "patch_size": 4, "heads": 2},
            "text": {"width": 16, "layers": 2, "heads": 2}},
    "rn": {"architecture": "resnet", "image_size": 64, "embed_dim": EMBED, "context_length": CONTEXT,
           "vocab_size": VOCAB, "activation": "quick_gelu",
           "vision": {"width": 2, "layers": [1, 1, 1, 1], "heads": 1},
           "text": {"width": 8, "layers": 1, "heads": 2}},
}

torch.set_num_threads(2)

# OpenAI's LayerNorm subclass computes in float32 (for its fp16 release) and casts back; for the
# float64 reference run it must compute in float64. For float32 inputs both are the same function.
openai_model.LayerNorm.forward = lambda self, x: torch.nn.LayerNorm.forward(self, x)


def make_model(kind):
    cfg = CONFIGS[kind]
    v, t = cfg["vision"], cfg["text"]
    torch.manual_seed(10 if kind == "vit" else 11)
    if kind == "vit":
        # Built with a 64-wide placeholder tower (CLIP.__init__ derives ViT heads as width // 64,
        # 0 for width 16), then the tower is replaced by one with explicit heads.
        model = openai_model.CLIP(EMBED, image_resolution=cfg["image_size"], vision_layers=1,
                                  vision_width=64, vision_patch_size=v["patch_size"],
                                  context_length=CONTEXT, vocab_size=VOCAB, transformer_width=t["width"],
                                  transformer_heads=t["heads"], transformer_layers=t["layers"])
        model.visual = openai_model.VisionTransformer(input_resolution=cfg["image_size"], patch_size=v["patch_size"],
                                                      width=v["width"], layers=v["layers"], heads=v["heads"],
                                                      output_dim=EMBED)
    else:
        model = openai_model.CLIP(EMBED, image_resolution=cfg["image_size"], vision_layers=tuple(v["layers"]),
                                  vision_width=v["width"], vision_patch_size=None, context_length=CONTEXT,
                                  vocab_size=VOCAB, transformer_width=t["width"], transformer_heads=t["heads"],
                                  transformer_layers=t["layers"])
        assert model.visual.attnpool.num_heads == v["heads"]
    perturb(model, torch.Generator().manual_seed(110 if kind == "vit" else 111))
    return model.float()


def make_batch(kind):
    """BATCH images (N(0, 1) values rounded to float16 so they can be stored in half the space
    exactly) and BATCH token rows of different lengths, one filling the context."""
    size = CONFIGS[kind]["image_size"]
    g = torch.Generator().manual_seed(20 if kind == "vit" else 21)
    pixels = torch.randn((BATCH, 3, size, size), generator=g).half().float()
    tokens = torch.zeros((BATCH, CONTEXT), dtype=torch.int64)
    for row, length in enumerate([4, 11, 30, CONTEXT - 2]):
        tokens[row, 0] = VOCAB - 2
        tokens[row, 1:1 + length] = torch.randint(1, VOCAB - 2, (length,), generator=g)
        tokens[row, 1 + length] = VOCAB - 1
    return pixels, tokens


def clip_loss(model, pixels, tokens):
    """open_clip's ClipLoss on one batch; returns the loss and the unnormalised features."""
    image = model.encode_image(pixels)
    text = model.encode_text(tokens)
    image_n = F.normalize(image, dim=-1)
    text_n = F.normalize(text, dim=-1)
    logits_per_image = model.logit_scale.exp() * image_n @ text_n.T
    logits_per_text = logits_per_image.T
    labels = torch.arange(pixels.shape[0])
    loss = (F.cross_entropy(logits_per_image, labels) + F.cross_entropy(logits_per_text, labels)) / 2
    return loss, image, text


def train_step(model, pixels, tokens, dtype):
    """One training-mode forward and backward of a copy of `model` in `dtype`."""
    m = copy.deepcopy(model).to(dtype).train()
    m.zero_grad(set_to_none=True)
    loss, image, text = clip_loss(m, pixels.to(dtype), tokens)
    loss.backward()
    grads = OrderedDict()
    for name, p in m.named_parameters():
        grads[name] = p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p)
    buffers = OrderedDict((name, b.detach().clone()) for name, b in m.named_buffers())
    return float(loss), grads, buffers, image.detach(), text.detach()


# Gradients that are zero in exact arithmetic (e.g. attention key biases: a shift shared by every
# key leaves each softmax unchanged) come out as float noise; relative gaps are taken against
# max(‖g‖, FLOOR · the largest gradient norm of the model), the rule the Swift test uses too.
FLOOR = 1e-3


def relative_gap(a, b, floor):
    """‖a − b‖ / max(‖b‖, floor) in float64."""
    a, b = a.double(), b.double()
    return float((a - b).norm()) / max(float(b.norm()), floor)


def write(kind, manifest):
    model = make_model(kind)
    pixels, tokens = make_batch(kind)
    state = OrderedDict((k, v.detach().clone().contiguous()) for k, v in model.state_dict().items())

    loss64, grads64, buffers64, image64, text64 = train_step(model, pixels, tokens, torch.float64)
    loss32, grads32, _, _, _ = train_step(model, pixels, tokens, torch.float32)
    largest = max(float(g.double().norm()) for g in grads64.values())
    gaps = {k: relative_gap(grads32[k], grads64[k], FLOOR * largest) for k in grads64}
    worst = max(gaps, key=gaps.get)
    print(f"{kind}: loss {loss64:.8f} (float32 {loss32:.8f}); float32 vs float64 gradients: worst {worst} {gaps[worst]:.2e}")

    # The weights the Swift side loads (float32 masters, OpenAI keys, BatchNorm buffers included).
    save_file(dict(state), os.path.join(OUT, f"{kind}.safetensors"), metadata={"format": "pt"})

    reference = OrderedDict()
    reference["pixels"] = pixels.half().contiguous()
    reference["tokens"] = tokens.contiguous()
    reference["image_features"] = image64.float().contiguous()
    reference["text_features"] = text64.float().contiguous()
    for k, g in grads64.items():
        reference["grad." + k] = g.float().contiguous()
    running = [k for k in buffers64 if k.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    for k in running:
        b = buffers64[k]
        reference["running." + k] = (b.float() if b.is_floating_point() else b).contiguous()
    save_file(dict(reference), os.path.join(OUT, f"{kind}-reference.safetensors"))

    manifest["models"][kind] = {
        **CONFIGS[kind],
        "weights": f"{kind}.safetensors",
        "reference": f"{kind}-reference.safetensors",
        "loss": loss64,
        "parameters": list(grads64),
        "running_statistics": running,
        "gradient_norm_floor": FLOOR * largest,
        # Zero in exact arithmetic (float64 leaves ~1e-17 of noise).
        "zero_gradient_parameters": [k for k, g in grads64.items() if float(g.double().norm()) < 1e-12 * largest],
        "torch_float32_vs_float64": {"loss": abs(loss32 - loss64), "worst_parameter": worst,
                                     "worst_relative_gradient_gap": gaps[worst]},
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    manifest = OrderedDict(
        generator="scripts/reference/make_gradient_fixtures.py",
        versions={"torch": torch.__version__.split("+")[0]},
        sot_token=VOCAB - 2, eot_token=VOCAB - 1, batch=BATCH,
        loss="open_clip ClipLoss: (CE(s * I.T^T, arange) + CE(s * T.I^T, arange)) / 2, s = exp(logit_scale), I, T L2-normalised",
        batch_norm={"momentum": 0.1, "eps": 1e-5, "normalise_with": "batch mean, biased variance",
                    "running_var_update": "unbiased batch variance"},
        gradient_tolerance="‖Δ‖ relative to max(‖g‖, gradient_norm_floor) per parameter (L2 norms)",
        models=OrderedDict())
    write("vit", manifest)
    write("rn", manifest)
    with open(os.path.join(OUT, "gradients.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f"wrote {OUT}: {total / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
