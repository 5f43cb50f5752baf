# Part of benchmarks/investigations/decoding_floor (see its README): run from the repository root.
"""In-process A/B of decoding between two trees (before = 6f02733, main = working tree).
usage: python dual.py ROUNDS [greedy|beam|parts]"""
import sys, time, statistics, importlib, torch
torch.set_num_threads(2)
def load(path):
    for k in [k for k in sys.modules if k == "tasklight" or k.startswith("tasklight.")]:
        del sys.modules[k]
    sys.path.insert(0, path + "/core"); sys.path.insert(0, path + "/plugins")
    tm = importlib.import_module("tasklight.model")
    sys.path.remove(path + "/core"); sys.path.remove(path + "/plugins")
    return tm
trees = {"before": load(__import__("os").environ.get("BEFORE", "../before")), "main": load(".")}
d = torch.load(str(__import__("pathlib").Path(__file__).parent / "src.pt")); src = d["src"]
models = {}
for name, tm in trees.items():
    torch.manual_seed(0)
    cfg = tm.TransformerConfig(vocab_size=8000, shape="encoder-decoder", d_model=256, n_heads=4, encoder_layers=3,
                               decoder_layers=3, d_ff=1024, dropout=0.1, max_positions=512, pad_id=0)
    models[name] = tm.Transformer(cfg).eval()
sd = models["main"].state_dict()
models["before"].load_state_dict({k: v for k, v in sd.items()}, strict=False)
rounds = int(sys.argv[1]); what = sys.argv[2:] or ["greedy", "beam"]
n = 30
def gen(name, beams):
    tm, m = trees[name], models[name]
    prefix = torch.full((src.size(0), 1), 2, dtype=torch.long)
    with torch.inference_mode():
        return tm.generate(m, prefix, src_ids=src, eos_id=3, max_new_tokens=n, min_new_tokens=n,
                           strategy="greedy" if beams == 1 else "beam", beam_size=beams)
for w in what:
    beams = 1 if w == "greedy" else 4
    outs = {k: gen(k, beams) for k in trees}
    same = outs["before"] == outs["main"]
    rates = {k: [] for k in trees}
    for r in range(rounds):
        for k in (list(trees) if r % 2 == 0 else list(trees)[::-1]):
            t = time.perf_counter(); gen(k, beams); rates[k].append(src.size(0) * n / (time.perf_counter() - t))
    med = {k: statistics.median(v) for k, v in rates.items()}
    ratios = sorted(a / b for a, b in zip(rates["main"], rates["before"]))
    print(f"{w}: before {med['before']:.0f} main {med['main']:.0f} tok/s; main/before median {statistics.median(ratios):.3f} "
          f"[{ratios[0]:.2f}..{ratios[-1]:.2f}] ratio of bests {max(rates['main']) / max(rates['before']):.3f} same output: {same}", flush=True)
