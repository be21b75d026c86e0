#!/usr/bin/env python3
"""Writes open_clip's fixed 2-D sine-cosine ViT positional embedding (`vision_cfg.pos_embed_type:
"sin_cos_2d"`) for a small open_clip model config, so swift-clip's initializer can be checked
against it.

Rerun (needs `scripts/reference/venv --torch`, open_clip 2.29.0):
    scripts/reference/.venv/bin/python scripts/reference/make_sincos_fixture.py

Output (Tests/CLIPModelTests/Fixtures/):
  sincos-config.json                  the open_clip model config (head_width, pos_embed_type)
  sincos-positional-embedding.safetensors
                                      visual.positional_embedding of open_clip's model built from it
                                      (a parameter with requires_grad=False), and the same tensor for
                                      the bundled demo model's shape (grid 8, width 96)
"""
import json
import os

import open_clip
from open_clip.pos_embed import get_2d_sincos_pos_embed
import torch
from safetensors.torch import save_file

out = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "CLIPModelTests", "Fixtures")
config = {"embed_dim": 8, "quick_gelu": True,
          "vision_cfg": {"image_size": 32, "patch_size": 8, "width": 16, "head_width": 8, "layers": 1,
                         "pos_embed_type": "sin_cos_2d"},
          "text_cfg": {"context_length": 8, "vocab_size": 49408, "width": 16, "heads": 2, "layers": 1}}
open_clip.factory._MODEL_CONFIGS["sincos-fixture"] = config
model = open_clip.create_model("sincos-fixture")
pe = model.visual.positional_embedding
assert not pe.requires_grad, "open_clip should freeze the sin-cos embedding"
with open(os.path.join(out, "sincos-config.json"), "w") as f:
    json.dump(config, f, indent=1, sort_keys=True)
    f.write("\n")
save_file({"visual.positional_embedding": pe.detach().contiguous(),
           "grid8_width96": torch.from_numpy(get_2d_sincos_pos_embed(96, 8, cls_token=True)).float().contiguous()},
          os.path.join(out, "sincos-positional-embedding.safetensors"))
print("wrote sincos-config.json and sincos-positional-embedding.safetensors; shape", tuple(pe.shape))
