"""``platform uninstall PKG...``: defined beside ``platform install`` in ``install.py``."""

from tasklight.cli.install import uninstall as command

__all__ = ["command"]
