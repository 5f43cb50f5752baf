"""Decode checkpoints of a translation run with whichever tasklight is imported (old or new clone).

  python offline_decode.py RUN_DIR OUT.json fresh CKPT...      val500 + test BLEU of each checkpoint, weights loaded normally
  python offline_decode.py RUN_DIR OUT.json stale A.ckpt B.ckpt [C.ckpt...]
        decode val500 with A (the first validation), then put each later checkpoint's weights into the
        parameters through .data (no version bump, as fused AdamW's step does) and decode val500 again:
        what a training-time validation at B (C...) computes when the first decode was at A.
Writes BLEU/chrF and the predictions (token lists) to OUT.json. --split-test-only / --val-only via env."""
import json, os, sys, time
from pathlib import Path
import torch
import tasklight
from tasklight.runner import load_run
from tasklight.data.sources import load_splits
from tasklight.evaluation import encode_examples, predict_examples, score
from tasklight.heads import Decoding
from tasklight.model_io import read_checkpoint, load_state
from tasklight.plugins import get_platform

run_dir, out_path, mode, ckpts = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
overrides = [s for s in os.environ.get("DECODE_SET", "").split(";") if s]
platform = get_platform()
loaded = load_run(run_dir, overrides=overrides)
task, ctx, config, system = loaded.task, loaded.ctx, loaded.config, loaded.system
splits = load_splits(task, str(config["run.data"]), ctx, platform.adapters)
limit = config["data.val_metric_examples"]
sets = {"val500": splits["validation"].examples[:limit] if limit else splits["validation"].examples,
        "test": splits["test"].examples}
if os.environ.get("ONLY"):
    sets = {k: v for k, v in sets.items() if k in os.environ["ONLY"].split(",")}
decoding = Decoding.from_config(config.section("decoding"))
enc = {k: encode_examples(task, v, loaded.tokenizer, ctx, train=False) for k, v in sets.items()}
system.eval()

def run(name):
    t = time.perf_counter()
    preds = predict_examples(system, task, sets[name], enc[name], loaded.tokenizer, ctx, decoding=decoding,
                             max_tokens=config["data.eval_max_tokens"], seed=ctx.seed)
    s = score(task, preds, sets[name], ctx)
    return {"bleu": round(float(s["bleu"].value), 2), "chrf": round(float(s["chrf"].value), 2),
            "seconds": round(time.perf_counter() - t, 1), "predictions": [str(p) for p in preds]}

results = {"tasklight": tasklight.__file__, "decoding": str(decoding), "mode": mode, "runs": []}
def state(path):
    return read_checkpoint(Path(path))
if mode == "fresh":
    for c in ckpts:
        ck = state(c); load_state(system, ck, Path(c))
        for name in sets:
            r = run(name); r.update(ckpt=c, step=ck.get("global_step"), set=name)
            results["runs"].append(r); print(c, ck.get("global_step"), name, r["bleu"], r["chrf"], r["seconds"], flush=True)
elif mode == "stale":
    first = state(ckpts[0]); load_state(system, first, Path(ckpts[0]))
    r = run("val500"); r.update(ckpt=ckpts[0], step=first.get("global_step"), set="val500", copies_from=ckpts[0])
    results["runs"].append(r); print("first decode", ckpts[0], first.get("global_step"), r["bleu"], flush=True)
    for c in ckpts[1:]:
        ck = state(c)
        with torch.no_grad():
            params = dict(system.named_parameters())
            for k, v in ck["state_dict"].items():
                if k in params:
                    params[k].data.copy_(v)  # in place without bumping the version counter
        r = run("val500"); r.update(ckpt=c, step=ck.get("global_step"), set="val500", copies_from=ckpts[0])
        results["runs"].append(r); print("stale decode", c, ck.get("global_step"), r["bleu"], flush=True)
json.dump(results, open(out_path, "w"), indent=1)
