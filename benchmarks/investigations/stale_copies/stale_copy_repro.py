"""Minimal repro: fused AdamW does not bump Parameter._version, so tasklight's _KeptCopy
(key = data_ptr, _version, dtype) keeps serving the decoding weights of the first decode
after later optimizer steps. Usage: python stale_copy_repro.py fused|unfused|fused+bump"""
import sys, torch, torch.nn.functional as F
from tasklight.model import Transformer, TransformerConfig
from tasklight.model.decoding import generate
from tasklight.system import adamw

torch.manual_seed(0)
cfg = TransformerConfig(vocab_size=20, d_model=64, n_heads=2, encoder_layers=1, decoder_layers=1, d_ff=128,
                        dropout=0.0, max_positions=64, pad_id=0)
fused = sys.argv[1].startswith("fused")
model = Transformer(cfg)
opt = adamw(model.named_parameters(), lr=3e-3, betas=(0.9, 0.98), weight_decay=0.01, fused=fused)
if sys.argv[1] == "fused+bump":  # candidate fix: bump the version counters after each step
    opt.register_step_post_hook(lambda o, a, k: torch.autograd.graph.increment_version([p for g in o.param_groups for p in g["params"]]))
BOS, EOS = 1, 2
def batch(n):  # copy task: target = source
    src = torch.randint(3, 20, (n, 6)); tgt = torch.cat([torch.full((n, 1), BOS), src, torch.full((n, 1), EOS)], 1)
    return src, tgt
def decode(m, src):
    m.eval()
    with torch.no_grad():
        return generate(m, torch.full((src.size(0), 1), BOS), src_ids=src, eos_id=EOS, max_new_tokens=8, strategy="beam", beam_size=4)
test_src, _ = batch(50)
decode(model, test_src)  # a first decode (as a validation would): kept (in, out) copies made now
for step in range(300):
    model.train(); opt.zero_grad(); src, tgt = batch(64)
    logits = model(src, tgt[:, :-1]); loss = F.cross_entropy(logits.reshape(-1, 20), tgt[:, 1:].reshape(-1))
    loss.backward(); opt.step()
w = model.embed.weight
with torch.no_grad():
    h = torch.randn(3, 64); err = (model.lm_logits(h) - h @ w.t()).abs().max().item()
fresh = Transformer(cfg); fresh.load_state_dict(model.state_dict())
a, b = decode(model, test_src), decode(fresh, test_src)
acc = lambda out: sum(o == s.tolist() for o, s in zip(out, test_src)) / len(out)
print(f"AdamW {sys.argv[1]}: final train loss {loss.item():.3f}; lm_logits max|kept-current| {err:.3g}; "
      f"copy accuracy: trained model {acc(a):.2f}, same weights in a fresh model {acc(b):.2f}; rows differing {sum(x != y for x, y in zip(a, b))}/50")
