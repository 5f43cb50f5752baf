# Part of benchmarks/investigations/decoding_floor (see its README): run from the repository root.
import torch, time, math, statistics, torch.nn.functional as F
from torch import nn
torch.set_num_threads(2)
import tasklight.model.transformer as T
from tasklight.model import Transformer, TransformerConfig
d = torch.load(str(__import__("pathlib").Path(__file__).parent / "src.pt")); src = d["src"]
torch.manual_seed(0)
cfg = TransformerConfig(vocab_size=8000, shape="encoder-decoder", d_model=256, n_heads=4, encoder_layers=3,
                        decoder_layers=3, d_ff=1024, dropout=0.1, max_positions=512, pad_id=0)
m = Transformer(cfg).eval()
orig_att = T._attention
def bmm_att(q, k, v, mask, dropout_p, is_causal):
    B, H, Tq, Dh = q.shape; E = k.size(0); g = B // E
    if Tq * g > 8 or dropout_p or is_causal:
        return orig_att(q, k, v, mask, dropout_p, is_causal)
    if g > 1:
        q = q.view(E, g, H, Tq, Dh).transpose(1, 2)
    qq = (q * Dh ** -0.5).reshape(E * H, g * Tq, Dh)
    L = k.size(2)
    s = torch.bmm(qq, k.reshape(E * H, L, Dh).transpose(1, 2))
    if mask is not None:
        s = s.view(E, H, g * Tq, L).masked_fill(~mask, -math.inf).view(E * H, g * Tq, L)
    y = torch.bmm(s.softmax(-1), v.reshape(E * H, L, Dh)).view(E, H, g * Tq, Dh)
    if g > 1:
        y = y.view(E, H, g, Tq, Dh).transpose(1, 2)
    return y.reshape(B, H, Tq, Dh)
orig_lin = nn.Linear.forward
for mod in m.modules():
    if isinstance(mod, nn.Linear): mod._wt = mod.weight.t().contiguous()
def t_lin(self, x):
    shp = x.shape
    y = torch.addmm(self.bias, x.reshape(-1, shp[-1]), self._wt)
    return y.view(*shp[:-1], y.size(-1))
variants = {"base": (orig_att, orig_lin), "bmm": (bmm_att, orig_lin), "wt": (orig_att, t_lin), "both": (bmm_att, t_lin)}
res = {k: [] for k in variants}
with torch.inference_mode():
    mem = m.encode(src); mask = src != 0
    cache = m.new_cache(32, 31, mem, mask)
    ids = torch.full((32, 1), 2)
    def step():
        for l in cache.layers: l.length = 10
        return m.decode(ids, cache=cache)
    outs = {}
    for r in range(20):
        for name, (a, l) in variants.items():
            T._attention = a; nn.Linear.forward = l
            for _ in range(3): step()
            t = time.perf_counter()
            for _ in range(30): outs[name] = step()
            res[name].append((time.perf_counter() - t) / 30 * 1e3)
    print({k: round(statistics.median(v), 3) for k, v in res.items()}, max((outs["base"] - o).abs().max().item() for o in outs.values()))
