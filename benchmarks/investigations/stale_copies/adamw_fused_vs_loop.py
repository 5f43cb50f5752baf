"""Fused vs per-parameter-loop AdamW (tasklight's adamw() groups) on a small Transformer:
identical gradients fed to both at each step; max parameter difference after N steps."""
import copy, torch, torch.nn.functional as F
from tasklight.model import Transformer, TransformerConfig
from tasklight.system import adamw
torch.manual_seed(0)
cfg = TransformerConfig(vocab_size=100, d_model=64, n_heads=2, encoder_layers=2, decoder_layers=2, d_ff=128, dropout=0.0, max_positions=64, pad_id=0)
a = Transformer(cfg); b = copy.deepcopy(a)
oa = adamw(a.named_parameters(), lr=7e-4, betas=(0.9, 0.98), weight_decay=0.01, fused=False)
ob = adamw(b.named_parameters(), lr=7e-4, betas=(0.9, 0.98), weight_decay=0.01, fused=True)
for step in range(50):
    src = torch.randint(3, 100, (16, 10)); tgt = torch.randint(3, 100, (16, 9))
    for m in (a, b):
        m.zero_grad(); F.cross_entropy(m(src, tgt[:, :-1]).reshape(-1, 100), tgt[:, 1:].reshape(-1)).backward()
    for pa, pb in zip(a.parameters(), b.parameters()):
        pb.grad.copy_(pa.grad)  # same gradients
    oa.step(); ob.step()
diff = max((pa - pb).abs().max().item() for pa, pb in zip(a.parameters(), b.parameters()))
scale = max(pa.abs().max().item() for pa in a.parameters())
moved = max((pa - p0).abs().max().item() for pa, p0 in zip(a.parameters(), Transformer(cfg).parameters())) if False else None
print(f"after 50 steps: max |fused - loop| parameter difference {diff:.3g} (max |param| {scale:.3g})")
