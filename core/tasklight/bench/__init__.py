"""Benchmarks: suites of runs (``platform bench``) and leaderboards (``platform leaderboard``).

- ``suites``: ``[suites.NAME]`` tables in platform.toml, or a ``--suite FILE``, parsed and checked.
- ``runner``: runs each entry x seed through ``tasklight.training.run``, skipping finished ones.
- ``collect``: finds and reads results records, naming and skipping malformed ones.
- ``aggregate``: groups comparable records, aggregates seeds, ranks by the primary metric.
- ``render``: the leaderboard as Markdown, JSON, one self-contained HTML page, or PNG charts.
"""
