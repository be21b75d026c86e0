#!/usr/bin/env python3
"""Checks swift-clip on full-size random-initialised models of all nine OpenAI architectures.

Not part of CI (it builds models of up to 600 M parameters and takes a while). Run:

    scripts/reference/venv --torch
    swift build -c release --product clip-bench --product clip
    scripts/reference/.venv/bin/python scripts/reference/check_full_size.py [--models RN50,ViT-B-32] [--fp16]

For each model open_clip builds `<name>-quickgelu` with random weights (seeded; BatchNorm
statistics and zero-initialised parameters perturbed so every tensor matters), the state dict
is written as safetensors (or, with --fp16, as OpenAI's mixed fp16 torch.save state dict)
under scripts/bench/.cache, and swift-clip must
  * infer the same configuration as the preset of that name (`clip info`),
  * produce image and text embeddings within 1e-4 of PyTorch's relative to their norm, with
    cosine similarity >= 0.99999 (`clip-bench model` on two images and three texts).

`ViT-L/14-text` (in the default list) is SD 1.x's text encoder: transformers' CLIPTextModel with
ViT-L/14's text configuration (width 768, 12 blocks, quick_gelu), random and perturbed, saved as a
diffusers text_encoder/ folder; `clip hidden-states` must give transformers' last_hidden_state
(the default), the clip-skip state (`--layer -2 --final-norm`) and pooler_output (`--pooled`) for
three prompts (ids from clip-anytorch's tokenizer, EOT padding) within 1e-4 of each row's norm.

`ViT-bigG-14-image` (not in the default list: the full tower is 1.8 B parameters, ~15 GB of RAM
for both processes) is SDXL's / IP-Adapter's ViT-bigG-14 image tower: open_clip's vision tower
with the model config's shapes (width 1664, 16 heads of 104, MLPs 8192 wide: mlp_ratio 4.9231),
random and perturbed, saved as an open_clip state dict (`visual.*`) with the model-config JSON;
`clip hidden-states` must give open_clip's penultimate-block states (IP-Adapter Plus) and its
pooled class token (ln_post) for two 224² PNGs preprocessed by open_clip's own transform.
--bigg-layers N keeps every shape but builds N of the 48 blocks (memory).
"""
import argparse
import json
import os
import subprocess
import sys

import torch
import open_clip
from safetensors.torch import save_file

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CACHE = os.path.join(ROOT, "scripts", "bench", ".cache")
NAMES = {"RN50": "RN50", "RN101": "RN101", "RN50x4": "RN50x4", "RN50x16": "RN50x16", "RN50x64": "RN50x64",
         "ViT-B/32": "ViT-B-32", "ViT-B/16": "ViT-B-16", "ViT-L/14": "ViT-L-14", "ViT-L/14@336px": "ViT-L-14-336"}


def perturb(model, g):
    with torch.no_grad():
        for name, p in model.state_dict().items():
            if p.is_floating_point() and p.ndim <= 1 and not name.endswith("logit_scale"):
                p.add_(torch.randn(p.shape, generator=g) * 0.05)
            if name.endswith("running_var"):
                p.copy_(torch.rand(p.shape, generator=g) + 0.5)


def check_text_tower():
    """SD 1.x's text encoder through `clip hidden-states`, against transformers."""
    import clip as openai_clip  # clip-anytorch: OpenAI's tokenizer, for the reference ids
    import numpy as np
    import transformers
    folder = os.path.join(CACHE, "ViT-L-14-text_encoder")
    config = transformers.CLIPTextConfig(
        vocab_size=49408, hidden_size=768, intermediate_size=3072, projection_dim=768, num_hidden_layers=12,
        num_attention_heads=12, max_position_embeddings=77, hidden_act="quick_gelu", bos_token_id=49406,
        eos_token_id=2, pad_token_id=1)
    torch.manual_seed(0)
    model = transformers.CLIPTextModel(config).eval()
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.state_dict().values():
            if p.is_floating_point():
                p.add_(torch.randn(p.shape, generator=g) * (0.05 if p.ndim <= 1 else 0.005))
    model.save_pretrained(folder)
    prompts = ["a photograph of an astronaut riding a horse", "a cat", "masterpiece, best quality, " * 8]
    texts = os.path.join(CACHE, "check-prompts.jsonl")
    with open(texts, "w") as f:
        f.writelines(json.dumps(p) + "\n" for p in prompts)
    ids = openai_clip.tokenize(prompts, truncate=True)
    for row in ids:
        end = int(row.argmax())
        row[end + 1:] = 49407  # EOT padding, as diffusers' SD 1.x tokenizer
    with torch.no_grad():
        r = model(input_ids=ids, output_hidden_states=True)
        recipes = [([], r.last_hidden_state), (["--layer", "-2", "--final-norm"], model.final_layer_norm(r.hidden_states[-2])),
                   (["--pooled"], r.pooler_output)]
    ok, line = True, []
    for flags, ref in recipes:
        out = os.path.join(CACHE, "check-states.npy")
        subprocess.run([os.path.join(ROOT, ".build", "release", "clip"), "hidden-states", "--model", folder,
                        "--texts-from", texts, "-o", out, "--quiet"] + flags, check=True)
        ours = torch.from_numpy(np.load(out)).double()
        ref = ref.double()
        rel = ((ours - ref).abs().amax(dim=-1) / ref.norm(dim=-1)).max().item() if ours.shape == ref.shape else float("inf")
        ok = ok and rel <= 1e-4
        line.append(f"{' '.join(flags) or 'defaults'}: {tuple(ours.shape)} max diff/norm {rel:.1e}")
    print(("ok   " if ok else "FAIL ") + "ViT-L/14-text   (SD 1.x text_encoder) " + "; ".join(line), flush=True)
    return ok


def check_bigg_image(layers):
    """ViT-bigG-14's image tower (MLP ratio 4.9231) through `clip hidden-states`, against open_clip."""
    import numpy as np
    from PIL import Image
    cfg = open_clip.get_model_config("ViT-bigG-14")
    vision_cfg = dict(cfg["vision_cfg"], layers=layers or cfg["vision_cfg"]["layers"])
    model_cfg = {"embed_dim": cfg["embed_dim"], "quick_gelu": False, "vision_cfg": vision_cfg,
                 "text_cfg": cfg["text_cfg"]}
    torch.manual_seed(0)
    visual = open_clip.model._build_vision_tower(cfg["embed_dim"], open_clip.model.CLIPVisionCfg(**vision_cfg))
    visual.eval()
    perturb(visual, torch.Generator().manual_seed(1))
    assert visual.transformer.resblocks[0].mlp.c_fc.out_features == 8192
    weights = os.path.join(CACHE, f"ViT-bigG-14-image-{vision_cfg['layers']}.safetensors")
    save_file({"visual." + k: v.contiguous() for k, v in visual.state_dict().items()}, weights)
    config = os.path.join(CACHE, "ViT-bigG-14-image.json")
    with open(config, "w") as f:
        json.dump(model_cfg, f)
    g = np.random.default_rng(3)
    images = []
    for i in range(2):
        path = os.path.join(CACHE, f"bigg-check-{i}.png")
        Image.fromarray(g.integers(0, 256, (224, 224, 3), dtype=np.uint8)).save(path)
        images.append(path)
    preprocess = open_clip.image_transform(224, is_train=False)
    pixels = torch.stack([preprocess(Image.open(p)) for p in images])
    with torch.no_grad():
        x = visual.conv1(pixels).flatten(2).transpose(1, 2)
        x = visual.ln_pre(torch.cat([visual.class_embedding.expand(2, 1, -1), x], dim=1) + visual.positional_embedding)
        states = [x]
        for block in visual.transformer.resblocks:
            x = block(x)
            states.append(x)
        recipes = [(["--layer", "-2"], states[-2]), (["--pooled"], visual.ln_post(states[-1][:, 0]))]
    ok, line = True, []
    for flags, ref in recipes:
        out = os.path.join(CACHE, "check-states.npy")
        subprocess.run([os.path.join(ROOT, ".build", "release", "clip"), "hidden-states", "--model", weights,
                        "--model-config", config, *[a for p in images for a in ("--image", p)], "-o", out, "--quiet"]
                       + flags, check=True)
        ours = torch.from_numpy(np.load(out)).double()
        ref = ref.double()
        rel = ((ours - ref).abs().amax(dim=-1) / ref.norm(dim=-1)).max().item() if ours.shape == ref.shape else float("inf")
        ok = ok and rel <= 1e-4
        line.append(f"{' '.join(flags)}: {tuple(ours.shape)} max diff/norm {rel:.1e}")
    print(("ok   " if ok else "FAIL ") + f"ViT-bigG-14-image ({vision_cfg['layers']} blocks) " + "; ".join(line), flush=True)
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=",".join(list(NAMES) + ["ViT-L/14-text"]),
                    help="also: ViT-bigG-14-image (not in the default list)")
    ap.add_argument("--bigg-layers", type=int, default=0, help="blocks of ViT-bigG-14-image to build (default all 48)")
    ap.add_argument("--fp16", action="store_true", help="store weights as OpenAI's mixed fp16 release does")
    args = ap.parse_args()
    torch.set_num_threads(2)
    os.makedirs(CACHE, exist_ok=True)
    failures = 0
    for preset in args.models.split(","):
        if preset == "ViT-L/14-text":
            failures += 0 if check_text_tower() else 1
            continue
        if preset == "ViT-bigG-14-image":
            failures += 0 if check_bigg_image(args.bigg_layers) else 1
            continue
        name = NAMES.get(preset, preset)
        preset = {v: k for k, v in NAMES.items()}.get(name, preset)
        torch.manual_seed(0)
        model = open_clip.create_model(f"{name}-quickgelu", pretrained=None).eval()
        perturb(model, torch.Generator().manual_seed(1))
        size = model.visual.image_size
        size = size[0] if isinstance(size, (tuple, list)) else size
        state = {k: v.contiguous() for k, v in model.state_dict().items()}
        if args.fp16:
            weights = os.path.join(CACHE, f"{name}-full-fp16.pt")
            half = {k: (v.half() if v.is_floating_point() and v.ndim >= 2 or k.endswith("proj") or k.endswith("projection") else v)
                    for k, v in state.items()}
            torch.save(half, weights)
            model.load_state_dict({k: v.float() for k, v in half.items()})
        else:
            weights = os.path.join(CACHE, f"{name}-full.safetensors")
            save_file(state, weights)
        g = torch.Generator().manual_seed(2)
        pixels = torch.randn((2, 3, size, size), generator=g)
        tokens = torch.zeros((3, 77), dtype=torch.int64)
        for i, n in enumerate([3, 30, 75]):
            tokens[i, 0] = 49406
            tokens[i, 1:1 + n] = torch.randint(1, 49405, (n,), generator=g)
            tokens[i, 1 + n] = 49407
        inputs = os.path.join(CACHE, f"{name}-check-inputs.safetensors")
        save_file({"pixels": pixels, "tokens": tokens}, inputs)
        with torch.no_grad():
            ref_image, ref_text = model.encode_image(pixels).double(), model.encode_text(tokens).double()

        info = json.loads(subprocess.run([os.path.join(ROOT, ".build", "release", "clip"), "info", "--model", weights],
                                         check=True, capture_output=True, text=True).stdout)
        out = json.loads(subprocess.run([os.path.join(ROOT, ".build", "release", "clip-bench"), "model", "--weights", weights,
                                         "--inputs", inputs, "--batches", ""], check=True, capture_output=True, text=True).stdout)
        ours_image = torch.tensor(out["image_features"], dtype=torch.float64).reshape(ref_image.shape)
        ours_text = torch.tensor(out["text_features"], dtype=torch.float64).reshape(ref_text.shape)
        ok = info["architecture"] == preset
        line = [f"{preset:15} config {'=' if ok else '!='} preset ({info['architecture']}), {info['parameters'] / 1e6:.1f} M params"]
        for tower, a, b in [("image", ours_image, ref_image), ("text", ours_text, ref_text)]:
            rel = ((a - b).abs().max(dim=1).values / b.norm(dim=1)).max().item()
            cos = torch.nn.functional.cosine_similarity(a, b, dim=1).min().item()
            ok = ok and rel <= 1e-4 and cos >= 0.99999
            line.append(f"{tower} max diff/norm {rel:.1e} cos {cos:.7f}")
        print(("ok   " if ok else "FAIL ") + "; ".join(line), flush=True)
        failures += 0 if ok else 1
        os.remove(weights)
    print(f"{failures} failed" if failures else "all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
