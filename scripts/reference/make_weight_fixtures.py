#!/usr/bin/env python3
"""Writes tiny random CLIP models in every weight format swift-clip reads, with reference outputs.

Rerun (needs `scripts/reference/venv --torch`):
    scripts/reference/.venv/bin/python scripts/reference/make_weight_fixtures.py

Output: Tests/CLIPModelTests/Fixtures/ (see the README.md written there). Everything is seeded, so
rerunning with the pinned versions (torch 2.5.1, clip-anytorch 2.6.0, transformers 4.46.3,
safetensors 0.4.5) rewrites the same bytes, except the TorchScript archives' debug records.

Models (OpenAI `clip/model.py` via clip-anytorch, and transformers' CLIPModel):
  vit  OpenAI ViT CLIP, QuickGELU, transformer widths 32 with 2 heads.
  rn   OpenAI modified-ResNet CLIP, vision width 2 (attention pool width 64, 1 head), text width 32.
  hf   transformers CLIPModel with plain GELU (open_clip's non-quickgelu ViT), width 32, 2 heads.
Widths are 32 to keep the fixtures small (well under 2 MB in all): OpenAI's `build_model` would infer
text/ViT heads = width // 64 = 0 from these shapes, so tests must take the heads from
weights.json ("models" section); the ResNet's attention-pool heads (width * 32 // 64 = 1) infer fine.
"""
import copy
import json
import os
import shutil
from collections import OrderedDict

import torch
from safetensors.torch import save_file

import clip.model as openai_model  # clip-anytorch 2.6.0: OpenAI's clip/model.py
import transformers

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(ROOT, "Tests", "CLIPModelTests", "Fixtures")

VOCAB = 100          # SOT = VOCAB - 2, EOT = VOCAB - 1 (the real tokenizer uses 49406 / 49407)
CONTEXT = 77
EMBED = 16

torch.set_num_threads(2)


def perturb_small_params(model, generator):
    """Random init leaves biases at 0 and norms at 1 (and OpenAI zeroes bn3): add noise so a test
    that drops a bias or swaps weight/bias fails."""
    with torch.no_grad():
        for name, p in model.state_dict().items():
            if not p.is_floating_point() or name.endswith("logit_scale"):
                continue
            if p.ndim <= 1:
                p.add_(torch.randn(p.shape, generator=generator) * 0.1)
            if name.endswith("running_var"):
                p.copy_(torch.rand(p.shape, generator=generator) + 0.5)


def make_openai(kind):
    torch.manual_seed(0 if kind == "vit" else 1)
    if kind == "vit":
        model = openai_model.CLIP(EMBED, image_resolution=32, vision_layers=2, vision_width=64, vision_patch_size=8,
                                  context_length=CONTEXT, vocab_size=VOCAB, transformer_width=32,
                                  transformer_heads=2, transformer_layers=2)
        # CLIP.__init__ derives ViT heads as width // 64; tiny widths need them set explicitly.
        model.visual = openai_model.VisionTransformer(input_resolution=32, patch_size=8, width=32, layers=2,
                                                      heads=2, output_dim=EMBED)
        size = 32
    else:
        model = openai_model.CLIP(EMBED, image_resolution=64, vision_layers=(1, 1, 1, 1), vision_width=2,
                                  vision_patch_size=None, context_length=CONTEXT, vocab_size=VOCAB,
                                  transformer_width=32, transformer_heads=2, transformer_layers=1)
        size = 64
    g = torch.Generator().manual_seed(100 if kind == "vit" else 101)
    perturb_small_params(model, g)
    return model.float().eval(), size


def make_hf():
    torch.manual_seed(2)
    config = transformers.CLIPConfig(
        text_config=dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=128, num_attention_heads=2,
                         num_hidden_layers=1, max_position_embeddings=CONTEXT, hidden_act="gelu",
                         bos_token_id=VOCAB - 2, eos_token_id=VOCAB - 1, pad_token_id=0),
        vision_config=dict(hidden_size=32, intermediate_size=128, num_attention_heads=2, num_hidden_layers=1,
                           image_size=32, patch_size=8, hidden_act="gelu"),
        projection_dim=EMBED,
    )
    model = transformers.CLIPModel(config)
    g = torch.Generator().manual_seed(102)
    perturb_small_params(model, g)
    return model.float().eval(), 32


def make_inputs(size, seed, images=2):
    g = torch.Generator().manual_seed(seed)
    pixels = torch.randn((images, 3, size, size), generator=g)
    tokens = torch.zeros((3, CONTEXT), dtype=torch.int64)
    for row, length in enumerate([3, 20, CONTEXT - 2]):  # the last one fills the context exactly
        body = torch.randint(1, VOCAB - 2, (length,), generator=g)
        tokens[row, 0] = VOCAB - 2
        tokens[row, 1:1 + length] = body
        tokens[row, 1 + length] = VOCAB - 1
    return pixels, tokens


@torch.no_grad()
def openai_outputs(model, pixels, tokens, prefix=""):
    image = model.encode_image(pixels).float()
    text = model.encode_text(tokens).float()
    logits_per_image, _ = model(pixels, tokens)
    return {prefix + "image_features": image, prefix + "text_features": text,
            prefix + "logits_per_image": logits_per_image.float()}


def upcast(state):
    return OrderedDict((k, v.float() if v.is_floating_point() else v) for k, v in state.items())


def rounded_model(kind, state_fp32, dtype):
    """The fp32 model whose weights went through `dtype` storage, as the Swift engine sees them."""
    model, _ = make_openai(kind)
    if dtype == torch.float16:
        openai_model.convert_weights(model)  # OpenAI's mixed fp16/fp32 release
        model.load_state_dict(state_fp32)
        state = model.state_dict()
    else:
        state = OrderedDict((k, v.to(dtype) if v.is_floating_point() else v) for k, v in state_fp32.items())
    model.float()
    model.load_state_dict(upcast(state))
    return model.eval(), state


def weights(n):
    """1, 2, ..., 13, 1, 2, ... as float64: the weights of `weighted_sum` over C-order values."""
    return (torch.arange(n, dtype=torch.float64) % 13) + 1


def describe(state):
    """Key -> shape, dtype and float64 checksums (sum, sum of squares, position-weighted sum) of
    the stored values."""
    names = {torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16",
             torch.float64: "float64", torch.int64: "int64", torch.int32: "int32", torch.uint8: "uint8",
             torch.bool: "bool"}
    result = OrderedDict()
    for key in sorted(state):
        t = state[key]
        d = t.detach().double()
        result[key] = {"shape": list(t.shape), "dtype": names[t.dtype],
                       "sum": float(f"{float(d.sum()):.10g}"), "sum_squares": float(f"{float((d * d).sum()):.10g}"),
                       # Order-sensitive: catches transposes and q/k/v concatenated in the wrong order.
                       "weighted_sum": float(f"{float((d.flatten() * weights(d.numel())).sum()):.10g}")}
    return result


# Which containers each model is written in. Every container and dtype path is covered once while
# keeping the total small: fp32 masters (safetensors) for element-wise comparisons, OpenAI's mixed
# fp16 in torch.save and TorchScript form, bf16, and an open_clip-style nested training checkpoint.
OPENAI_FILES = {
    "vit": ["safetensors", "fp16.pt", "nested.pt"],
    "rn": ["safetensors", "jit.pt", "bf16.safetensors"],
}


def openai_formats(kind, manifest):
    model, size = make_openai(kind)
    state = OrderedDict((k, v.detach().clone().contiguous()) for k, v in model.state_dict().items())
    # One ResNet image only: at 64x64 a second one would double the outputs file.
    pixels, tokens = make_inputs(size, 7 if kind == "vit" else 8, images=2 if kind == "vit" else 1)
    outputs = {"pixels": pixels, "tokens": tokens}
    outputs.update(openai_outputs(model, pixels, tokens))

    fp16_model, fp16_state = rounded_model(kind, state, torch.float16)
    outputs.update(openai_outputs(fp16_model, pixels, tokens, "fp16_"))
    bf16_model, bf16_state = rounded_model(kind, state, torch.bfloat16)
    outputs.update(openai_outputs(bf16_model, pixels, tokens, "bf16_"))
    states = {"fp32": state, "fp16": fp16_state, "bf16": bf16_state}
    for variant, st in states.items():
        manifest["states"][f"{kind}-{variant}"] = describe(st)

    def record(name, fmt, variant, **extra):
        manifest["files"][name] = {"format": fmt, "model": kind, "state": f"{kind}-{variant}", **extra}

    for suffix in OPENAI_FILES[kind]:
        name = f"{kind}.{suffix}" if suffix in ("safetensors", "pt") else f"{kind}-{suffix}"
        path = os.path.join(OUT, name)
        if suffix == "safetensors":
            save_file(dict(state), path, metadata={"format": "pt"})  # one key: Rust orders a map randomly
            record(name, "safetensors", "fp32")
        elif suffix == "bf16.safetensors":
            save_file(dict(bf16_state), path)
            record(name, "safetensors", "bf16")
        elif suffix == "pt":
            torch.save(state, path)
            record(name, "pytorchZip", "fp32")
        elif suffix == "fp16.pt":
            torch.save(fp16_state, path)
            record(name, "pytorchZip", "fp16")
        elif suffix == "nested.pt":
            # open_clip-style training checkpoint: DataParallel prefixes under "state_dict", plus extras.
            nested = {"epoch": 3, "name": f"tiny-{kind}",
                      "state_dict": OrderedDict(("module." + k, v) for k, v in fp16_state.items())}
            torch.save(nested, path)
            record(name, "pytorchZip", "fp16")
        elif suffix == "jit.pt":
            # Like OpenAI's published .pt files: traced with forward, encode_image and encode_text
            # (clip.py's load() patches all three graphs), weights stored in mixed fp16.
            source, _ = make_openai(kind)
            source.load_state_dict(state)
            traced = torch.jit.trace_module(source, {"forward": (pixels, tokens), "encode_image": (pixels,),
                                                     "encode_text": (tokens,)})
            with torch.no_grad():
                for key, p in traced.named_parameters():
                    p.data = fp16_state[key].clone()
            torch.jit.save(traced, path)
            loaded = torch.jit.load(path, map_location="cpu").state_dict()
            assert list(describe(loaded).items()) == list(describe(fp16_state).items()), "jit state differs"
            record(name, "torchScript", "fp16")

    save_file({k: v.contiguous() for k, v in outputs.items()}, os.path.join(OUT, f"{kind}-outputs.safetensors"))
    manifest["models"][kind] = {
        "architecture": "vit" if kind == "vit" else "resnet", "activation": "quick_gelu", "image_size": size,
        "embed_dim": EMBED, "context_length": CONTEXT, "vocab_size": VOCAB,
        "vision": ({"width": 32, "layers": 2, "patch_size": 8, "heads": 2} if kind == "vit"
                   else {"width": 2, "layers": [1, 1, 1, 1], "heads": 1}),
        "text": {"width": 32, "layers": 2 if kind == "vit" else 1, "heads": 2},
        "outputs": f"{kind}-outputs.safetensors",
    }


HF_TO_OPENAI_LAYER = [("self_attn.out_proj", "attn.out_proj"), ("layer_norm1", "ln_1"), ("layer_norm2", "ln_2"),
                      ("mlp.fc1", "mlp.c_fc"), ("mlp.fc2", "mlp.c_proj")]


def hf_to_openai(hf):
    """The key table (mirrors Sources/CLIPWeights/HuggingFace/HuggingFaceKeyMap.swift), used here to
    prove, via open_clip, that it is right: the mapped weights must give HF's outputs."""
    out = OrderedDict()
    for tower, prefix in [("text_model", ""), ("vision_model", "visual.")]:
        layers = {int(k.split(".")[3]) for k in hf if k.startswith(f"{tower}.encoder.layers.")}
        for i in sorted(layers):
            src, dst = f"{tower}.encoder.layers.{i}.", f"{prefix}transformer.resblocks.{i}."
            for p in ["weight", "bias"]:
                out[dst + f"attn.in_proj_{p}"] = torch.cat([hf[src + f"self_attn.{n}_proj.{p}"] for n in "qkv"])
                for a, b in HF_TO_OPENAI_LAYER:
                    out[dst + f"{b}.{p}"] = hf[src + f"{a}.{p}"]
    out["token_embedding.weight"] = hf["text_model.embeddings.token_embedding.weight"]
    out["positional_embedding"] = hf["text_model.embeddings.position_embedding.weight"]
    for p in ["weight", "bias"]:
        out[f"ln_final.{p}"] = hf[f"text_model.final_layer_norm.{p}"]
        out[f"visual.ln_pre.{p}"] = hf[f"vision_model.pre_layrnorm.{p}"]
        out[f"visual.ln_post.{p}"] = hf[f"vision_model.post_layernorm.{p}"]
    out["text_projection"] = hf["text_projection.weight"].t().contiguous()
    out["visual.proj"] = hf["visual_projection.weight"].t().contiguous()
    out["visual.class_embedding"] = hf["vision_model.embeddings.class_embedding"]
    out["visual.conv1.weight"] = hf["vision_model.embeddings.patch_embedding.weight"]
    out["visual.positional_embedding"] = hf["vision_model.embeddings.position_embedding.weight"]
    out["logit_scale"] = hf["logit_scale"]
    return out


def hf_formats(manifest):
    import open_clip

    model, size = make_hf()
    pixels, tokens = make_inputs(size, 9)
    with torch.no_grad():
        # transformers 5 returns a model output whose pooler_output is the projected feature.
        image = model.get_image_features(pixel_values=pixels)
        text = model.get_text_features(input_ids=tokens)
        image, text = [f if torch.is_tensor(f) else f.pooler_output for f in (image, text)]
        logits = model(input_ids=tokens, pixel_values=pixels).logits_per_image
    outputs = {"pixels": pixels, "tokens": tokens, "image_features": image, "text_features": text,
               "logits_per_image": logits}

    hf_state = OrderedDict((k, v.detach().clone().contiguous()) for k, v in model.state_dict().items())
    openai_state = hf_to_openai(hf_state)

    # Check the key table against open_clip's plain-GELU CLIP with the same shapes.
    oc = open_clip.model.CLIP(
        EMBED,
        vision_cfg=open_clip.model.CLIPVisionCfg(layers=1, width=32, head_width=16, patch_size=8, image_size=32),
        text_cfg=open_clip.model.CLIPTextCfg(context_length=CONTEXT, vocab_size=VOCAB, width=32, heads=2, layers=1),
        quick_gelu=False)
    oc.load_state_dict(openai_state)
    oc.eval()
    with torch.no_grad():
        oc_image, oc_text = oc.encode_image(pixels), oc.encode_text(tokens)
    diff = max(float((oc_image - image).abs().max()), float((oc_text - text).abs().max()))
    assert diff < 1e-5, f"HF key table disagrees with open_clip: max diff {diff}"
    print(f"hf: open_clip with mapped weights matches transformers (max diff {diff:.2e})")

    fp16_openai = OrderedDict((k, v.half()) for k, v in openai_state.items())
    manifest["states"]["hf-fp32"] = describe(openai_state)
    manifest["states"]["hf-fp16"] = describe(fp16_openai)
    # fp32 single file, fp16 shards, fp32 pytorch_model.bin (HF's own names, mapped on load).
    for folder, dtype, kwargs in [("hf", torch.float32, dict(safe_serialization=True)),
                                  ("hf-sharded", torch.float16, dict(safe_serialization=True, max_shard_size="50KB")),
                                  ("hf-bin", torch.float32, dict(safe_serialization=False))]:
        path = os.path.join(OUT, folder)
        shutil.rmtree(path, ignore_errors=True)
        copy.deepcopy(model).to(dtype).save_pretrained(path, **kwargs)
        bin_path = os.path.join(path, "pytorch_model.bin")
        if not kwargs["safe_serialization"] and not os.path.exists(bin_path):
            # transformers 5 writes model.safetensors even with safe_serialization=False.
            torch.save(OrderedDict((k, v.to(dtype)) for k, v in hf_state.items()), bin_path)
            os.remove(os.path.join(path, "model.safetensors"))
        manifest["files"][folder] = {
            "format": "huggingFacePyTorch" if folder == "hf-bin" else "huggingFaceSafetensors", "model": "hf",
            "state": "hf-fp32" if dtype == torch.float32 else "hf-fp16"}

    save_file({k: v.contiguous() for k, v in outputs.items()}, os.path.join(OUT, "hf-outputs.safetensors"))
    manifest["models"]["hf"] = {
        "architecture": "vit", "activation": "gelu", "image_size": size, "embed_dim": EMBED,
        "context_length": CONTEXT, "vocab_size": VOCAB,
        "vision": {"width": 32, "layers": 1, "patch_size": 8, "heads": 2},
        "text": {"width": 32, "layers": 1, "heads": 2},
        "outputs": "hf-outputs.safetensors",
    }


def format_cases():
    """Small edge cases for Tests/CLIPWeightsTests: strided views, rejected globals, compressed
    entries and the legacy (pre-zip) torch.save format."""
    import fractions
    import zipfile
    out = os.path.join(ROOT, "Tests", "CLIPWeightsTests", "Fixtures")
    os.makedirs(out, exist_ok=True)
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    views = OrderedDict([
        ("transposed", base.t()),                      # strides (1, 6)
        ("column", base[:, 2]),                        # storage offset 2, stride 6
        ("block", base[1:3, 2:5]),                     # offset 8, strides (6, 1)
        ("half_view", base.half()[::2, ::3]),          # fp16, strides (12, 3)
        ("scalar", torch.tensor(4.6052)),
        ("empty", torch.zeros((0, 3))),
        ("int64", torch.tensor([1, -2, 3], dtype=torch.int64)),
        ("bf16", base[0].bfloat16()),                  # BFloat16Storage
        ("f64", base[1, :2].double()),                 # DoubleStorage
    ])
    torch.save(views, os.path.join(out, "views.pt"))
    expected = OrderedDict((k, {"shape": list(v.shape), "values": v.contiguous().double().flatten().tolist()})
                           for k, v in views.items())
    torch.save({"weight": torch.ones(2), "ratio": fractions.Fraction(1, 3)}, os.path.join(out, "disallowed-global.pt"))
    torch.save({"weight": torch.ones(2)}, os.path.join(out, "legacy.pt"), _use_new_zipfile_serialization=False)
    # The same archive with its entries deflated (torch itself always stores them).
    plain = os.path.join(out, "views.pt")
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(os.path.join(out, "compressed.pt"), "w",
                                                        zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(entry, src.read(info.filename))

    # A scripted (not traced) module: its plain tensor attribute is pickled with the parameters,
    # and only the class code's __parameters__/__buffers__ tell them apart.
    class Inner(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = torch.nn.Linear(3, 2, bias=False)   # bias None
            self.register_buffer("running", torch.arange(2.0))

        def forward(self, x):
            return self.proj(x) + self.running

    class Outer(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = Inner()
            self.scale = torch.nn.Parameter(torch.tensor(2.0))
            self.mask = torch.ones(2)                        # plain attribute, not state
            self.count = 3

        def forward(self, x):
            return self.inner(x) * self.scale * self.mask * self.count

    torch.manual_seed(3)
    scripted = torch.jit.script(Outer())
    torch.jit.save(scripted, os.path.join(out, "scripted.pt"))
    reloaded = torch.jit.load(os.path.join(out, "scripted.pt")).state_dict()
    expected["scripted.pt"] = {"keys": sorted(reloaded)}
    with open(os.path.join(out, "views.json"), "w") as f:
        f.write(compact_json(expected) + "\n")


def compact_json(value, depth=0):
    """Indented JSON whose innermost objects (one tensor's record) stay on one line."""
    if isinstance(value, dict) and any(isinstance(v, dict) for v in value.values()):
        pad = " " * (depth + 1)
        items = [f"{pad}{json.dumps(k)}: {compact_json(v, depth + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * depth + "}"
    return json.dumps(value)


def main():
    os.makedirs(OUT, exist_ok=True)
    manifest = {"generator": "scripts/reference/make_weight_fixtures.py",
                "versions": {"torch": torch.__version__.split("+")[0], "transformers": transformers.__version__},
                "sot_token": VOCAB - 2, "eot_token": VOCAB - 1, "models": OrderedDict(), "files": OrderedDict(),
                "states": OrderedDict()}
    openai_formats("vit", manifest)
    openai_formats("rn", manifest)
    hf_formats(manifest)
    format_cases()
    used = {record["state"] for record in manifest["files"].values()}
    manifest["states"] = OrderedDict((k, v) for k, v in manifest["states"].items() if k in used)
    with open(os.path.join(OUT, "weights.json"), "w") as f:
        f.write(compact_json(manifest) + "\n")
    total = 0
    for dirpath, _, names in os.walk(OUT):
        for n in names:
            total += os.path.getsize(os.path.join(dirpath, n))
    print(f"wrote {OUT}: {total / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
