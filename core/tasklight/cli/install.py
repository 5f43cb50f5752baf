"""``platform install PKG...`` and ``platform uninstall PKG...``: pip for tasklight's own environment.

Both run ``python -m pip`` with the interpreter tasklight runs in, so a plugin lands
where ``platform`` finds it (``pipx``/virtualenv installs included). Neither loads a
plugin: a plugin that is broken on import can always be uninstalled.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import click

from tasklight.errors import UserError

PASS_THROUGH = {"ignore_unknown_options": True, "help_option_names": ["-h", "--help"]}


def pip(action: str, args: tuple[str, ...]) -> int:
    """Run ``python -m pip ACTION ARGS...`` for this interpreter; returns pip's exit code."""
    if importlib.util.find_spec("pip") is None:
        raise UserError(f"pip is not installed for {sys.executable}; add it with: {sys.executable} -m ensurepip")
    return subprocess.call([sys.executable, "-m", "pip", action, *args])


@click.command("install", context_settings=PASS_THROUGH)
@click.argument("args", nargs=-1, required=True, type=click.UNPROCESSED)
def command(args: tuple[str, ...]) -> None:
    """Install plugin packages with pip into tasklight's environment.

    Every argument goes to `pip install` unchanged (-e PATH, --upgrade, a version...).

    \b
    platform install tasklight-sentiment
    platform install -e examples/tasklight-sentiment
    platform install --upgrade tasklight-sentiment
    """
    sys.exit(pip("install", args))


@click.command("uninstall", context_settings=PASS_THROUGH)
@click.argument("args", nargs=-1, required=True, type=click.UNPROCESSED)
def uninstall(args: tuple[str, ...]) -> None:
    """Uninstall plugin packages with pip from tasklight's environment.

    Every argument goes to `pip uninstall` unchanged; -y skips pip's question. Plugins
    are not loaded, so this works even when an installed plugin is broken.

    \b
    platform uninstall -y tasklight-sentiment
    """
    sys.exit(pip("uninstall", args))
