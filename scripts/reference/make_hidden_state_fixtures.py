#!/usr/bin/env python3
"""Writes tiny random CLIP towers in diffusers' and open_clip's layouts with their per-token hidden
states, for swift-clip's hidden-states tests (issue 12).

Rerun (needs `scripts/reference/venv --torch`):
    scripts/reference/.venv/bin/python scripts/reference/make_hidden_state_fixtures.py

Output: Tests/CLIPModelTests/Fixtures/hidden-states/ (README.md there lists every file). Seeded:
rerunning with the pinned versions (requirements-torch.txt: torch 2.15.0, transformers 5.24.0,
open_clip_torch 3.3.0, safetensors 0.8.0) rewrites the same bytes.

Towers (vocab 64 with SOT 62 / EOT 63 so that files stay a few KB; context 77; width 8, 2 heads,
3 blocks; every parameter perturbed so that a dropped bias or norm changes the numbers):
  sd1-text          transformers CLIPTextModel, quick_gelu, eos_token_id 63 (diffusers text_encoder/
                    of SD 1.x), saved by transformers 5 save_pretrained (keys without text_model.)
  sd1-text-prefixed the same weights with transformers 4.x keys (text_model.*)
  sdxl-text2        CLIPTextModelWithProjection, gelu, eos_token_id 2 (SDXL's text_encoder_2/)
  ip-image          CLIPVisionModelWithProjection, gelu, image 32, patch 8 (IP-Adapter image_encoder/)
  openclip-h        open_clip CLIP, gelu, vision head_width 6 (ViT-H-14's is 80, not 64): a Hugging
                    Face open_clip folder (open_clip_config.json + open_clip_model.safetensors)
  openclip-bigg     open_clip CLIP, gelu, vision width 16 with mlp_ratio 4.9231 (ViT-bigG-14's, so MLPs
                    78 wide, not 64): a state dict (open_clip_pytorch_model.bin) and its model-config
                    JSON; text and image states
  bigg-image        CLIPVisionModelWithProjection, gelu, hidden 16, intermediate_size 78 (the
                    4.9231 ratio of ViT-bigG-14's image_encoder/, IP-Adapter SDXL)

Reference numbers: transformers' `hidden_states` (index = the layer as swift-clip takes it),
`final_layer_norm` / `post_layernorm` applied to them, `pooler_output`, `text_embeds` /
`image_embeds`; for open_clip, its own modules run block by block as SD 2.x's
FrozenOpenCLIPEmbedder does (`encode_with_transformer`, attn_mask from the model).
Output keys: "text.<pad>.<layer>.<norm|raw>", "text.<pad>.pooled", "text.<pad>.embeds",
"image.<layer>.<norm|raw>", "image.pooled", "image.embeds", and the inputs "tokens.<pad>",
"pixels".
"""
import json
import os
import shutil

import open_clip
import torch
import transformers
from safetensors.torch import load_file, save_file

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(ROOT, "Tests", "CLIPModelTests", "Fixtures", "hidden-states")

VOCAB, SOT, EOT, CONTEXT, WIDTH, HEADS, LAYERS = 64, 62, 63, 77, 8, 2, 3
torch.set_num_threads(2)


def perturb(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.state_dict().items():
            if p.is_floating_point() and not name.endswith("logit_scale"):
                p.add_(torch.randn(p.shape, generator=g) * (0.1 if p.ndim <= 1 else 0.02))
    return model.eval()


def tokens(pad):
    """Two prompts: a short one and one that fills the context (EOT last)."""
    rows = []
    for body in ([5, 9, 17], list(range(1, CONTEXT - 1))):
        row = [SOT] + [b % (VOCAB - 2) for b in body] + [EOT]
        row += [EOT if pad == "eot" else 0] * (CONTEXT - len(row))
        rows.append(row[:CONTEXT])
    return torch.tensor(rows, dtype=torch.int64)


def text_layers(n):
    """Layer options: every hidden_states index as written and negative; norms where pipelines use them."""
    return [(k, "raw") for k in range(n + 1)] + [(-1, "norm"), (-2, "norm"), (-2, "raw"), (0, "norm")]


def save_folder(model, name):
    path = os.path.join(OUT, name)
    shutil.rmtree(path, ignore_errors=True)
    model.save_pretrained(path)
    for extra in os.listdir(path):
        if extra not in ("config.json", "model.safetensors"):
            os.remove(os.path.join(path, extra))
    return path


def hf_text(name, with_projection, act, eos, seed):
    config = transformers.CLIPTextConfig(
        vocab_size=VOCAB, hidden_size=WIDTH, intermediate_size=4 * WIDTH, projection_dim=WIDTH,
        num_hidden_layers=LAYERS, num_attention_heads=HEADS, max_position_embeddings=CONTEXT, hidden_act=act,
        bos_token_id=SOT, eos_token_id=eos, pad_token_id=EOT if eos != 2 else 0)
    cls = transformers.CLIPTextModelWithProjection if with_projection else transformers.CLIPTextModel
    torch.manual_seed(seed)
    model = perturb(cls(config), seed)
    save_folder(model, name)
    out = {}
    inner = getattr(model, "text_model", model)  # transformers 5: CLIPTextModel is the transformer itself
    for pad in ("eot", "zero"):
        ids = tokens(pad)
        out[f"tokens.{pad}"] = ids
        with torch.no_grad():
            r = model(input_ids=ids, output_hidden_states=True)
            hs = r.hidden_states
            assert len(hs) == LAYERS + 1
            assert torch.allclose(inner.final_layer_norm(hs[-1]), r.last_hidden_state)
            for layer, norm in text_layers(LAYERS):
                if pad == "zero" and (layer, norm) not in ((-1, "norm"), (-2, "raw"), (-2, "norm")):
                    continue
                x = hs[layer]
                out[f"text.{pad}.{layer}.{norm}"] = inner.final_layer_norm(x) if norm == "norm" else x
            if with_projection:
                out[f"text.{pad}.embeds"] = r.text_embeds
                out[f"text.{pad}.pooled"] = inner(input_ids=ids).pooler_output
            else:
                out[f"text.{pad}.pooled"] = r.pooler_output
    return model, out


def hf_image(name, seed, width=WIDTH, intermediate=4 * WIDTH):
    config = transformers.CLIPVisionConfig(
        hidden_size=width, intermediate_size=intermediate, projection_dim=WIDTH, num_hidden_layers=LAYERS,
        num_attention_heads=HEADS, image_size=32, patch_size=8, hidden_act="gelu")
    torch.manual_seed(seed)
    model = perturb(transformers.CLIPVisionModelWithProjection(config), seed)
    save_folder(model, name)
    pixels = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(seed))
    out = {"pixels": pixels}
    inner = model.vision_model
    with torch.no_grad():
        r = model(pixel_values=pixels, output_hidden_states=True)
        hs = r.hidden_states
        assert torch.equal(hs[-1], r.last_hidden_state)
        for layer, norm in text_layers(LAYERS):
            x = hs[layer]
            out[f"image.{layer}.{norm}"] = inner.post_layernorm(x) if norm == "norm" else x
        out["image.pooled"] = inner(pixel_values=pixels).pooler_output
        out["image.embeds"] = r.image_embeds
    return out


def open_clip_text_states(model, ids):
    """SD 2.x FrozenOpenCLIPEmbedder.encode_with_transformer, every layer kept."""
    x = model.token_embedding(ids) + model.positional_embedding
    states = [x]
    for block in model.transformer.resblocks:
        x = block(x, attn_mask=model.attn_mask)
        states.append(x)
    return states


def open_clip_image_states(visual, pixels):
    x = visual.conv1(pixels).flatten(2).transpose(1, 2)
    cls = visual.class_embedding.expand(x.shape[0], 1, -1)
    x = visual.ln_pre(torch.cat([cls, x], dim=1) + visual.positional_embedding)
    states = [x]
    for block in visual.transformer.resblocks:
        x = block(x)
        states.append(x)
    return states


def open_clip_model(cfg, seed):
    torch.manual_seed(seed)
    model = open_clip.model.CLIP(**cfg)
    return perturb(model, seed)


def open_clip_outputs(model, images):
    out = {}
    with torch.no_grad():
        for pad in ("eot", "zero"):
            ids = tokens(pad)
            out[f"tokens.{pad}"] = ids
            hs = open_clip_text_states(model, ids)
            # Every layer option once (zero padding: SD 2.x's), the pipelines' recipes under both.
            for layer, norm in text_layers(LAYERS):
                if pad == "zero" or (layer, norm) in ((-1, "norm"), (-2, "norm"), (-2, "raw")):
                    x = hs[layer]
                    out[f"text.{pad}.{layer}.{norm}"] = model.ln_final(x) if norm == "norm" else x
            out[f"text.{pad}.embeds"] = model.encode_text(ids)
            # open_clip pools at argmax (the EOT) after ln_final.
            assert torch.allclose(model.ln_final(hs[-1])[torch.arange(2), ids.argmax(-1)] @ model.text_projection,
                                  out[f"text.{pad}.embeds"], atol=1e-6)
        if images:
            pixels = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(7))
            out["pixels"] = pixels
            hs = open_clip_image_states(model.visual, pixels)
            for layer, norm in text_layers(LAYERS):
                x = hs[layer]
                out[f"image.{layer}.{norm}"] = model.visual.ln_post(x) if norm == "norm" else x
            out["image.embeds"] = model.encode_image(pixels)
    return out


def text_cfg():
    return {"context_length": CONTEXT, "vocab_size": VOCAB, "width": WIDTH, "heads": HEADS, "layers": LAYERS}


def write_outputs(name, out):
    tensors = {k: (v.to(torch.int64) if not v.is_floating_point() else v.float()).contiguous().clone() for k, v in out.items()}
    save_file(tensors, os.path.join(OUT, f"{name}-states.safetensors"), metadata={"format": "pt"})


def main():
    os.makedirs(OUT, exist_ok=True)
    _, out = hf_text("sd1-text", False, "quick_gelu", EOT, 1)
    write_outputs("sd1-text", out)
    # transformers 4.x wrote CLIPTextModel keys under text_model.; keep a copy in that layout.
    bare = os.path.join(OUT, "sd1-text")
    prefixed = os.path.join(OUT, "sd1-text-prefixed")
    shutil.rmtree(prefixed, ignore_errors=True)
    os.makedirs(prefixed)
    shutil.copy(os.path.join(bare, "config.json"), prefixed)
    state = load_file(os.path.join(bare, "model.safetensors"))
    keys = sorted(state)
    renamed = {(k if k.startswith("text_model.") else "text_model." + k): v for k, v in state.items()}
    save_file(renamed, os.path.join(prefixed, "model.safetensors"), metadata={"format": "pt"})
    print("sd1-text keys as transformers", transformers.__version__, "saves them:", keys[:3])

    _, out = hf_text("sdxl-text2", True, "gelu", 2, 2)
    write_outputs("sdxl-text2", out)
    write_outputs("ip-image", hf_image("ip-image", 3))

    h_cfg = {"embed_dim": WIDTH, "quick_gelu": False, "text_cfg": text_cfg(),
             "vision_cfg": {"image_size": 32, "patch_size": 8, "width": 12, "head_width": 6, "layers": LAYERS}}
    model = open_clip_model(h_cfg, 4)
    folder = os.path.join(OUT, "openclip-h")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()},
              os.path.join(folder, "open_clip_model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(folder, "open_clip_config.json"), "w") as f:
        json.dump({"model_cfg": h_cfg, "preprocess_cfg": {"mean": [0.48145466, 0.4578275, 0.40821073],
                                                          "std": [0.26862954, 0.26130258, 0.27577711]}}, f, indent=2)
    write_outputs("openclip-h", open_clip_outputs(model, images=True))

    g_cfg = {"embed_dim": WIDTH, "quick_gelu": False, "text_cfg": text_cfg(),
             "vision_cfg": {"image_size": 32, "patch_size": 8, "width": 16, "head_width": 8, "layers": LAYERS,
                            "mlp_ratio": 4.9231}}
    model = open_clip_model(g_cfg, 5)
    assert model.visual.transformer.resblocks[0].mlp.c_fc.out_features == 78  # int(16 * 4.9231)
    torch.save(model.state_dict(), os.path.join(OUT, "openclip-bigg.bin"))
    with open(os.path.join(OUT, "openclip-bigg.json"), "w") as f:
        json.dump(g_cfg, f, indent=2)
    write_outputs("openclip-bigg", open_clip_outputs(model, images=True))
    write_outputs("bigg-image", hf_image("bigg-image", 6, width=16, intermediate=78))
    write_readme()
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    print(f"wrote {OUT}: {total / 1024:.0f} KB")


def write_readme():
    lines = ["# Hidden-state fixtures", "",
             "Written by `scripts/reference/make_hidden_state_fixtures.py` (torch " + torch.__version__.split("+")[0]
             + ", transformers " + transformers.__version__ + ", open_clip " + open_clip.__version__
             + "); rerun with `scripts/reference/.venv/bin/python scripts/reference/make_hidden_state_fixtures.py`"
             " after `scripts/reference/venv --torch`. Seeded: a rerun rewrites the same bytes.", "",
             ("Towers" + __doc__.split("Towers", 1)[1]).strip(), "", "## Files", "",
             "| file | bytes | what |", "| --- | --- | --- |"]
    for d, _, fs in sorted(os.walk(OUT)):
        for f in sorted(fs):
            if f == "README.md":
                continue
            rel = os.path.relpath(os.path.join(d, f), OUT)
            what = ("reference states and inputs" if f.endswith("-states.safetensors") else
                    "transformers config" if f == "config.json" else
                    "open_clip config" if f.endswith(".json") else "weights")
            lines.append(f"| `{rel}` | {os.path.getsize(os.path.join(d, f))} | {what} |")
    with open(os.path.join(OUT, "README.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
