#!/usr/bin/env python3
"""Writes a full-size random ViT-B/32 (OpenAI architecture) in every container, for timing the
loader by hand; not used in CI (about 1.6 GB).

    scripts/reference/.venv/bin/python scripts/reference/make_large_weights.py [DIR]   # default /tmp/clip-large-weights
    CLIP_LARGE_WEIGHTS=DIR swift test --filter LargeWeightsTests

Files: vitb32.safetensors (fp32), vitb32.pt (torch.save fp32), ViT-B-32-jit.pt (TorchScript with
OpenAI's mixed fp16 weights, traced like OpenAI's releases), hf/ (transformers CLIPModel folder)
and keys.json (key -> shape of the OpenAI state dict).
"""
import json
import os
import sys

import torch
import transformers
from safetensors.torch import save_file

import clip.model as openai_model

out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/clip-large-weights"
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)
model = openai_model.CLIP(512, 224, 12, 768, 32, 77, 49408, 512, 8, 12).eval()
state = {k: v.contiguous() for k, v in model.state_dict().items()}
save_file(state, os.path.join(out, "vitb32.safetensors"))
torch.save(state, os.path.join(out, "vitb32.pt"))
with open(os.path.join(out, "keys.json"), "w") as f:
    json.dump({k: list(v.shape) for k, v in state.items()}, f)

pixels = torch.randn(1, 3, 224, 224)
tokens = torch.zeros(1, 77, dtype=torch.long)
tokens[0, :2] = torch.tensor([49406, 49407])
traced = torch.jit.trace_module(model, {"forward": (pixels, tokens), "encode_image": (pixels,), "encode_text": (tokens,)})
openai_model.convert_weights(model)
fp16 = model.state_dict()
with torch.no_grad():
    for key, p in traced.named_parameters():
        p.data = fp16[key].clone()
torch.jit.save(traced, os.path.join(out, "ViT-B-32-jit.pt"))

config = transformers.CLIPConfig(
    text_config=dict(vocab_size=49408, hidden_size=512, intermediate_size=2048, num_attention_heads=8,
                     num_hidden_layers=12, hidden_act="quick_gelu"),
    vision_config=dict(hidden_size=768, intermediate_size=3072, num_attention_heads=12, num_hidden_layers=12,
                       image_size=224, patch_size=32, hidden_act="quick_gelu"),
    projection_dim=512)
transformers.CLIPModel(config).save_pretrained(os.path.join(out, "hf"))
print(out)
