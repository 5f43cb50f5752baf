# Part of benchmarks/investigations/decoding_floor (see its README): run from the repository root.
import sys, torch
sys.path.insert(0, ".")
from benchmarks.throughput import Sizes, load_multi30k, padded_sources
from pathlib import Path
s = Sizes()
data = load_multi30k(s, Path("../shared/data/translation/multi30k"), 0)
src = padded_sources(data["validation"][: s.decode_batch])
torch.save({"src": src, "vocab": data["tokenizer"].vocab_size}, str(__import__("pathlib").Path(__file__).parent / "src.pt"))
print(src.shape, data["tokenizer"].vocab_size)
