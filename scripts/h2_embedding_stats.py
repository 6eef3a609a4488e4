"""Embedding and selector statistics of the quickstart export (issue 13 measurement; paths are the quickstart's)."""
from pathlib import Path

import torch

from nasvl.data.registry import load_dataset
from nasvl.export import load_subnet
from nasvl.language import EmbeddingCache

cache = EmbeddingCache("/work/main/runs/cache/embeddings", "minilm")
root = Path("/work/main/runs/quickstart/data/synth")
tr = load_dataset(root/"train", "lasot", None, strict=True)
te = load_dataset(root/"test", "lasot", None, strict=True)
texts = sorted({v.description for v in tr if v.description})
tt = sorted({v.description for v in te if v.description})
print("train videos", len(tr), "with text", sum(bool(v.description) for v in tr), "distinct", len(texts))
E = torch.stack([cache.get(t) for t in texts])
T = torch.stack([cache.get(t) for t in tt])
print("norms", E.norm(dim=1).mean().item(), E.norm(dim=1).std().item())
En = torch.nn.functional.normalize(E, dim=1)
C = En @ En.T
off = C[~torch.eye(len(C), dtype=bool)]
print("mean cos between different train sentences", off.mean().item(), "min", off.min().item())
mu = E.mean(0)
Ec = E - mu
print("mean vector norm / avg norm", mu.norm().item() / E.norm(dim=1).mean().item())
Ecn = torch.nn.functional.normalize(Ec, dim=1)
Cc = Ecn @ Ecn.T
print("after centring: mean cos", Cc[~torch.eye(len(C), dtype=bool)].mean().item())
s = torch.linalg.svdvals(Ec)
print("top singular value share", (s[:5]**2/ (s**2).sum()).tolist())
net = load_subnet("/work/main/runs/quickstart/retrain/export")
for name, m in net.named_modules():
    if hasattr(m, "linear") and m.__class__.__name__ == "ModaMixer":
        sel = m.linear(T).detach()  # (n, C)
        zero = m.linear(torch.zeros(1, E.shape[1])).detach()
        print(name, "selector mean|.|", sel.abs().mean().item(), "across-sentence std", sel.std(0).mean().item(),
              "bias-only |.|", zero.abs().mean().item(), "W|.|", m.linear.weight.abs().mean().item(),
              "W·mu |.|", (m.linear.weight @ mu).abs().mean().item())
