# Part of benchmarks/investigations/decoding_floor (see its README): run from the repository root.
import sys, time, statistics, collections, torch
sys.argv = ["x", "0"]
src_text = open(str(__import__("pathlib").Path(__file__).parent / "dual.py")).read()
exec(src_text.split("rounds = int")[0])
exec("n = 30\n" + src_text.split("n = 30\n")[1].split("for w in what")[0])
import types
T = {k: collections.defaultdict(float) for k in trees}
def wrap(tree, obj, name, key):
    f = getattr(obj, name)
    def g(*a, **k):
        t = time.perf_counter(); r = f(*a, **k); T[tree][key] += time.perf_counter() - t; return r
    setattr(obj, name, g)
Db = sys.modules  # modules were removed; get decoding modules via generate's globals
dec = {k: tm.generate.__wrapped__.__globals__ for k, tm in trees.items()}
class NS:  # setattr on a module globals dict
    def __init__(self, g): object.__setattr__(self, "g", g)
    def __getattr__(self, n): return self.g[n]
    def __getitem__(self, n): return self.g[n]
    def __setattr__(self, n, v): self.g[n] = v
for k in trees:
    ns = NS(dec[k]); m = models[k]
    wrap(k, m, "decode", "decode"); wrap(k, m, "new_cache", "new_cache"); wrap(k, m, "lm_logits", "lm")
    wrap(k, ns, "_top_k", "topk")
    if k == "before":
        wrap(k, m, "encode", "encode"); wrap(k, m, "lm_argmax", "lm")
    else:
        wrap(k, ns, "encode_by_length", "encode")
    wrap(k, ns["_RunningBatch"], "select", "select")
    # log-softmax / logsumexp show up in "rest"
tot = {k: collections.defaultdict(list) for k in trees}
rounds = int(__import__("os").environ.get("ROUNDS", "10"))
for beams in (1, 4):
    for r in range(rounds):
        for k in (list(trees) if r % 2 == 0 else list(trees)[::-1]):
            T[k].clear()
            t = time.perf_counter(); gen(k, beams); total = time.perf_counter() - t
            tot[k][(beams, "total")].append(total * 1e3)
            for p, v in T[k].items(): tot[k][(beams, p)].append(v * 1e3)
            tot[k][(beams, "rest")].append((total - sum(T[k].values())) * 1e3)
    for key in tot["main"]:
        if key[0] != beams: continue
        b, m_ = statistics.median(tot["before"][key]), statistics.median(tot["main"][key])
        print(beams, key[1], "before %.1f main %.1f  diff %+.1f" % (b, m_, m_ - b))
