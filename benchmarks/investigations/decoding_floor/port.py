# Part of benchmarks/investigations/decoding_floor (see its README): run from the repository root.
"""Experiment: before's hand-written step over main's model, A/B against main's decode."""
import sys, torch, time, math, statistics, torch.nn.functional as F
torch.set_num_threads(2)
from tasklight.model import Transformer, TransformerConfig
d = torch.load(str(__import__("pathlib").Path(__file__).parent / "src.pt")); src = d["src"]
torch.manual_seed(0)
cfg = TransformerConfig(vocab_size=8000, shape="encoder-decoder", d_model=256, n_heads=4, encoder_layers=3,
                        decoder_layers=3, d_ff=1024, dropout=0.1, max_positions=512, pad_id=0)
m = Transformer(cfg).eval()
B = int(sys.argv[1]); beams = 4 if B == 128 else 1
V = dict(wt=True, inplace=True, bmm=True)
for a in sys.argv[2:]:
    k, v = a.split("="); V[k] = v == "1"
layers = []
for blk in m.decoder.blocks:
    L = {}
    for name, lin in (("qkv", blk.self_attn.qkv), ("sp", blk.self_attn.proj), ("cq", blk.cross_attn.q), ("cp", blk.cross_attn.proj), ("fc", blk.ff.fc), ("fp", blk.ff.proj)):
        L[name] = (lin.weight.t().contiguous() if V["wt"] else lin.weight.t(), lin.bias)
    L["ln"] = [(n.weight, n.bias) for n in (blk.ln_self, blk.ln_cross, blk.ln_ff)]
    layers.append(L)
def lin(x, w, res=None):
    if res is not None and V["inplace"]:
        return res.addmm_(x, w[0]).add_(w[1])
    y = torch.addmm(w[1], x, w[0])
    return y if res is None else res + y
def step(ids, cache):
    t = cache.layers[0].length
    Bn, C, H = ids.size(0), 256, 4; Dh = 64; scale = Dh ** -0.5
    x = F.embedding(ids[:, 0], m.embed.weight) + m.decoder.pos.weight[t]
    for i, w in enumerate(layers):
        lc = cache.layers[i]
        h = F.layer_norm(x, (C,), *w["ln"][0])
        qkv = lin(h, w["qkv"]).view(Bn, 3, H, Dh)
        lc.k.select(2, t).copy_(qkv.select(1, 1)); lc.v.select(2, t).copy_(qkv.select(1, 2))
        if V["bmm"]:
            q = (qkv.select(1, 0) * scale).view(Bn * H, 1, Dh)
            k = lc.k.view(Bn * H, -1, Dh)[:, : t + 1]; v = lc.v.view(Bn * H, -1, Dh)[:, : t + 1]
            y = torch.bmm(torch.bmm(q, k.transpose(1, 2)).softmax(-1), v).view(Bn, C)
        else:
            y = F.scaled_dot_product_attention(qkv.select(1, 0)[:, :, None], lc.k[:, :, : t + 1], lc.v[:, :, : t + 1]).view(Bn, C)
        x = lin(y, w["sp"], x)
        h = F.layer_norm(x, (C,), *w["ln"][1])
        q = lin(h, w["cq"])
        ck, cv = lc.cross_kv; E = ck.size(0); g = Bn // E
        q4 = q.view(E, g, H, Dh).transpose(1, 2)
        y = F.scaled_dot_product_attention(q4, ck, cv, attn_mask=cache.cross_mask).transpose(1, 2).reshape(Bn, C)
        x = lin(y, w["cp"], x)
        h = F.layer_norm(x, (C,), *w["ln"][2])
        x = lin(F.gelu(lin(h, w["fc"])), w["fp"], x)
    for lc in cache.layers: lc.length += 1
    return F.layer_norm(x, (C,), m.decoder.ln_f.weight, m.decoder.ln_f.bias)[:, None]
res = {"main": [], "port": []}
with torch.inference_mode():
    mem = m.encode(src); mask = src != 0
    cache = m.new_cache(B, 31, mem, mask, beams=beams)
    ids = torch.full((B, 1), 2)
    fns = {"main": lambda: m.decode(ids, cache=cache), "port": lambda: step(ids, cache)}
    outs = {}
    for r in range(16):
        for name, f in fns.items():
            for _ in range(2):
                for l in cache.layers: l.length = 10
                f()
            t0 = time.perf_counter()
            for _ in range(20):
                for l in cache.layers: l.length = 10
                outs[name] = f()
            res[name].append((time.perf_counter() - t0) / 20 * 1e3)
    print(V, {k: round(statistics.median(v), 2) for k, v in res.items()}, "port/main %.3f" % statistics.median([a / b for a, b in zip(res["port"], res["main"])]), (outs["main"] - outs["port"]).abs().max().item())
