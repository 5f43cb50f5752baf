"""The ``platform`` launcher. Commands live one per module and load on first use,
so ``platform --help`` stays fast (no torch import)."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from tasklight.errors import UserError

COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("tasklight.cli.run", "Train, validate and test a task; writes a run directory."),
    "eval": ("tasklight.cli.evaluate", "Score a trained run on a split."),
    "predict": ("tasklight.cli.predict", "Predict with a trained run: text lines or JSONL in, JSONL out."),
    "tasks": ("tasklight.cli.tasks", "List the tasks that plugins provide."),
    "bench": ("tasklight.cli.bench", "Run a benchmark suite: entries x seeds, fixed budgets."),
    "compare": ("tasklight.cli.compare", "Test whether two runs on the same test set differ significantly."),
    "leaderboard": ("tasklight.cli.leaderboard", "Rank results records across runs: md, html, json, png."),
    "plugins": ("tasklight.cli.plugins", "List loaded plugins, their hooks and load errors."),
    "new-plugin": ("tasklight.cli.new_plugin", "Write a ready task plugin package: ./tasklight-NAME/."),
    "install": ("tasklight.cli.install", "Install plugin packages with pip into tasklight's environment."),
    "uninstall": ("tasklight.cli.uninstall", "Uninstall plugin packages with pip (works with broken plugins)."),
    "serve": ("tasklight.cli.serve", "Serve a trained run over HTTP (JSON API, dynamic batching)."),
    "export": ("tasklight.cli.export", "Export a trained run as a Hugging Face model directory."),
}


class CliError(click.ClickException):
    """A UserError on its way out: ``Error: <message>``, exit code 2."""

    exit_code = 2


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMANDS) | set(self._plugin_commands()))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in COMMANDS:
            module = importlib.import_module(COMMANDS[name][0])
            return module.command
        return self._plugin_commands().get(name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in sorted(COMMANDS)]
        rows += [(name, cmd.get_short_help_str()) for name, cmd in sorted(self._plugin_commands().items())]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def _plugin_commands(self) -> dict[str, click.Command]:
        if not hasattr(self, "_extra"):
            extra = click.Group()
            from tasklight.plugins import get_platform

            platform = get_platform()
            for impl in platform.pm.hook.register_commands.get_hookimpls():
                try:
                    if platform.tracing:
                        print(f"[tasklight] call register_commands(cli) on plugin {impl.plugin_name!r}", file=sys.stderr)
                    result = impl.function(cli=extra)
                    if platform.tracing:
                        print(f"[tasklight] register_commands on plugin {impl.plugin_name!r} returned {result!r}", file=sys.stderr)
                except Exception as err:  # a broken plugin loses its commands, nothing else
                    print(f"Warning: plugin {impl.plugin_name!r} register_commands failed: {err}; skipped", file=sys.stderr)
            self._extra = {n: c for n, c in extra.commands.items() if n not in COMMANDS}
        return self._extra

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UserError as err:
            error = CliError(err.message)
            error.exit_code = err.exit_code
            raise error from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="tasklight", prog_name="tasklight")
def cli() -> None:
    """tasklight: train, evaluate and compare transformer models on NLP tasks.

    \b
    Quick start (offline, built-in demo data):
      platform run translation --out runs/translation-demo
      platform predict translation --run runs/translation-demo "twenty-one red cats"
    """


def main() -> None:
    """Console entry point: bad input is one line and exit code 2, never a traceback."""
    try:
        cli.main(prog_name="platform", standalone_mode=False)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except click.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except UserError as err:
        click.echo(f"Error: {err.message}", err=True)
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except Exception as err:
        if os.environ.get("TASKLIGHT_DEBUG"):
            raise
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        click.echo(f"Error: internal error: {type(err).__name__}: {first} (set TASKLIGHT_DEBUG=1 for the traceback)", err=True)
        sys.exit(1)
