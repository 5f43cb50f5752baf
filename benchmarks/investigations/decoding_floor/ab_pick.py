# Part of benchmarks/investigations/decoding_floor (see its README): run from the repository root.
import time, torch, statistics
torch.set_num_threads(2)
import tasklight.model.decoding as D
from tasklight.model import Transformer, TransformerConfig, generate
d = torch.load(str(__import__("pathlib").Path(__file__).parent / "src.pt")); src = d["src"]
torch.manual_seed(0)
cfg = TransformerConfig(vocab_size=8000, shape="encoder-decoder", d_model=256, n_heads=4, encoder_layers=3,
                        decoder_layers=3, d_ff=1024, dropout=0.1, max_positions=512, pad_id=0)
m = Transformer(cfg).eval()
def chunked(columns, CHUNK=64):
    """The removed two-stage pick: chunk maxima, the first chunk holding the maximum, then
    the first maximum within it (V a multiple of CHUNK here: 8000 = 125 x 64)."""
    V, N = columns.shape
    chunks = columns.view(V // CHUNK, CHUNK, N)
    chunk = chunks.amax(dim=1).argmax(dim=0)
    return chunk * CHUNK + chunks[chunk, :, torch.arange(N)].argmax(dim=1)
class Pick:  # generate() picks greedy tokens with columns.argmax(dim=0); swap that call
    fn = None
orig_argmax = torch.Tensor.argmax
def patched(self, *a, **k):
    if Pick.fn is not None and self.dim() == 2 and k.get("dim") == 0 and self.size(0) == 8000:
        return Pick.fn(self)
    return orig_argmax(self, *a, **k)
torch.Tensor.argmax = patched
variants = {"chunked": chunked, "argmax0": None, "argmax_t": lambda c: orig_argmax(c.t(), dim=-1)}
enc = D.encode_by_length
evariants = {"grouped": enc, "padded": lambda m_, s, mask: m_.encode(s, mask)}
res = {}
with torch.inference_mode():
    for r in range(12):
        for name, f in variants.items():
            Pick.fn = f
            t = time.perf_counter(); generate(m, torch.full((32, 1), 2), src_ids=src, eos_id=3, max_new_tokens=30, min_new_tokens=30); res.setdefault(name, []).append(time.perf_counter() - t)
        Pick.fn = None
        for name, f in evariants.items():
            D.encode_by_length = f
            for beams in (1, 4):
                t = time.perf_counter(); generate(m, torch.full((32, 1), 2), src_ids=src, eos_id=3, max_new_tokens=30, min_new_tokens=30, strategy="greedy" if beams == 1 else "beam", beam_size=beams); res.setdefault(f"{name}-b{beams}", []).append(time.perf_counter() - t)
        D.encode_by_length = enc
print({k: round(statistics.median(v) * 1e3, 1) for k, v in res.items()})
