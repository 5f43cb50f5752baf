import torch
for fused in (False, True):
    p = torch.nn.Parameter(torch.randn(4, 3))
    opt = torch.optim.AdamW([p], lr=0.1, fused=fused or None)
    v0 = p._version; ptr = p.data_ptr()
    p.grad = torch.randn(4, 3); opt.step()
    print("fused", fused, "version", v0, "->", p._version, "ptr same", ptr == p.data_ptr())
    # load_state_dict
    m = torch.nn.Linear(3, 4); v = m.weight._version
    m.load_state_dict({"weight": torch.zeros(4, 3), "bias": torch.zeros(4)}); print(" load_state_dict version", v, "->", m.weight._version)
