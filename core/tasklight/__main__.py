"""``python -m tasklight`` is the ``platform`` command."""

from tasklight.cli import main

main()
