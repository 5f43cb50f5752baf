# Part of benchmarks/investigations/decoding_floor (see its README): run from the repository root.
import sys, time, statistics, importlib, torch
torch.set_num_threads(2)
exec(open(str(__import__("pathlib").Path(__file__).parent / "dual.py")).read().split("d = torch.load")[0].split("torch.set_num_threads(2)")[1])
res = {}
with torch.no_grad():
    steps = {}
    for name, tm in trees.items():
        torch.manual_seed(0)
        cfg = tm.TransformerConfig(vocab_size=100, shape="encoder-decoder", d_model=32, n_heads=2, encoder_layers=3,
                                   decoder_layers=3, d_ff=64, dropout=0.1, max_positions=64, pad_id=0)
        m = tm.Transformer(cfg).eval()
        src = torch.randint(3, 100, (1, 10))
        mem = m.encode(src)
        cache = m.new_cache(1, 31, mem, src != 0)
        ids = torch.full((1, 1), 2)
        def step(name=name, cache=cache, m=m):
            if name == "before": cache.length = 10
            else:
                for l in cache.layers: l.length = 10
            return m.decode(ids, cache=cache)
        steps[name] = step
    for r in range(10):
        for name, f in steps.items():
            for _ in range(5): f()
            t = time.perf_counter()
            for _ in range(100): f()
            res.setdefault(name, []).append((time.perf_counter() - t) / 100 * 1e6)
print({k: round(statistics.median(v), 1) for k, v in res.items()}, "us per step (tiny model: overhead only)")
