"""Data: resolving ``--data`` into splits, the tokenizer, token-budget batching."""
