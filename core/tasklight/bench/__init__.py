"""The library behind ``platform bench`` (run a suite) and ``platform leaderboard`` (rank records).

Not to be confused with the repository's top-level ``benchmarks/`` folder, which holds
stand-alone measuring scripts (speed against Hugging Face transformers, serving load) and ``RESULTS.md``; those are not part of the installed package.

- ``suites``: ``[suites.NAME]`` tables in platform.toml, or a ``--suite FILE``, parsed and checked.
- ``suite_runner``: runs each entry x seed of a suite as one in-process ``tasklight.training.run``,
  skipping finished runs and resuming interrupted ones.
- ``collect``: finds and reads results records, naming and skipping malformed ones.
- ``aggregate``: groups comparable records, aggregates seeds, ranks by the primary metric.
- ``render``: the leaderboard as Markdown, JSON, one self-contained HTML page, or PNG charts.
"""
