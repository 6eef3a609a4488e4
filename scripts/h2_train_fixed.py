"""Train the quickstart's searched architecture (fixed path) with a train spec; log grad norms; export."""
import collections
import sys
import time
from pathlib import Path

from nasvl.config import load_yaml
from nasvl.export import save_subnet
from nasvl.space.arch import load_arch
from nasvl.train.config import parse_train_spec
from nasvl.train.loop import Trainer, language_parameters
from nasvl.train.run import _build, _embeddings, seed_everything

spec = parse_train_spec(load_yaml(sys.argv[1]).root)
out = Path(sys.argv[2])
steps = spec.train.steps
seed_everything(0)
net = _build(spec, "supernet", None)
arch = load_arch(net.space, Path("/work/main/runs/quickstart/export/best/arch.yaml").read_text())
emb = _embeddings(spec, net)
tr = Trainer(spec, net, out / "run", phase="supernet", embeddings=emb, fixed_arch=arch)
lang_ids = {id(p) for p in language_parameters(net)}
acc = collections.defaultdict(list)
def hook(opt, a, k):
    g = collections.defaultdict(float)
    for p in tr.net.parameters():
        if p.grad is not None:
            g["lang" if id(p) in lang_ids else "rest"] += float(p.grad.norm() ** 2)
    for key, v in g.items():
        acc[key].append(v ** 0.5)
tr.optimizer.register_step_pre_hook(hook)
w0 = [p.detach().clone() for p in language_parameters(net)]
it = iter(tr.loader())
t0 = time.time()
textneg = 0
n = 0
for i in range(steps):
    b = next(it)
    tr.train_step(b)
    tr.step += 1
    textneg += int(b["text_negative"].sum())
    n += len(b["text_negative"])
    if i % 50 == 0:
        print(i, round(time.time() - t0), flush=True)
print("text negatives", textneg / n)
for key, v in acc.items():
    q = len(v) // 4
    print(key, f"grad norm: first quarter {sum(v[:q]) / q:.4f} last quarter {sum(v[-q:]) / q:.4f}")
rel = [((p.detach() - w).norm() / w.norm()).item() for p, w in zip(language_parameters(net), w0, strict=False) if p.dim() > 1]
print("language weights relative change", [round(r, 3) for r in rel])
sub = net.extract(arch, affine=False).eval()
save_subnet(sub, out / "export")
print("done", round(time.time() - t0))
