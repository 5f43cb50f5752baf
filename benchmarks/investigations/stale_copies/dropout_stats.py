"""Statistical checks of tasklight.model.dropout.Dropout (integer mask) on CPU."""
import torch
from tasklight.model.dropout import Dropout

torch.manual_seed(0)
d = Dropout(0.1).train()
x = torch.ones(64, 32, 256)
def mask():
    return (d(x) == 0).float()
m1, m2 = mask(), mask()
print(f"drop fraction {m1.mean():.5f} (p=0.1)")
def corr(a, b):
    a, b = a.flatten() - a.mean(), b.flatten() - b.mean()
    return float((a * b).mean() / (a.std() * b.std()))
print(f"corr consecutive calls {corr(m1, m2):+.5f}")
print(f"corr adjacent elements (last dim) {corr(m1[..., :-1], m1[..., 1:]):+.5f}")
print(f"corr elements 2 apart {corr(m1[..., :-2], m1[..., 2:]):+.5f}")
print(f"corr adjacent positions (dim 1) {corr(m1[:, :-1], m1[:, 1:]):+.5f}")
print(f"corr adjacent rows (dim 0) {corr(m1[:-1], m1[1:]):+.5f}")
print(f"identical consecutive masks: {bool((m1 == m2).all())}")
# per-feature drop rate spread (should be binomial): std of column means vs expected
col = m1.mean(dim=(0, 1)); exp_sd = (0.1 * 0.9 / (64 * 32)) ** 0.5
print(f"per-feature drop-rate sd {col.std():.5f} (binomial expectation {exp_sd:.5f})")
# the way training reseeds: ExactResume torch.manual_seed(step_seed) each step
def step_seed(seed, step): return (((seed * 1_000_003 + step) * 64 + 0) * 4096 + 0) % 2**63
masks = []
for step in range(4):
    torch.manual_seed(step_seed(42, step)); masks.append(mask())
print("reseeded steps: fraction per step", [round(float(m.mean()), 4) for m in masks],
      "corr step0/step1", round(corr(masks[0], masks[1]), 5), "corr step1/step2", round(corr(masks[1], masks[2]), 5))
# compare with F.dropout / bernoulli for the same shapes
import torch.nn.functional as F
b1 = (F.dropout(x, 0.1, True) == 0).float()
print(f"F.dropout reference: fraction {b1.mean():.5f}, adjacent corr {corr(b1[..., :-1], b1[..., 1:]):+.5f}")
# gradient: equals mask * scale
xg = torch.randn(8, 16, requires_grad=True); y = d(xg); y.sum().backward()
kept = (y != 0)
print("grad matches mask/(1-p):", torch.allclose(xg.grad, kept.float() / 0.9))
print("forward matches x*mask/(1-p):", torch.allclose(y, xg.detach() * kept / 0.9))
