"""``platform serve --run DIR [--host 127.0.0.1] [--port 8000]``: an HTTP JSON API."""

from __future__ import annotations

from pathlib import Path

import click

from tasklight.cli.options import device_options, set_option


@click.command("serve")
@click.option("--run", "run_dir", required=True, type=click.Path(path_type=Path), help="A run directory.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (0.0.0.0 for every interface).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port (0: any free port).")
@click.option("--max-batch-size", default=32, show_default=True, type=click.IntRange(1), help="Most inputs in one model call.")
@click.option("--max-wait-ms", default=2.0, show_default=True, type=click.FloatRange(0), help="How long a batch waits for more requests.")
@click.option("--max-inputs", default=64, show_default=True, type=click.IntRange(1), help="Most inputs in one request (more: 413).")
@click.option("--max-chars", default=4096, show_default=True, type=click.IntRange(1), help="Most characters in one input (more: 413).")
@click.option("--threads", type=click.IntRange(1), help="Torch threads for the model (default: torch's choice).")
@click.option("--log-level", default="warning", show_default=True, type=click.Choice(["critical", "error", "warning", "info", "debug"]), help="uvicorn's log level (info logs each request).")
@set_option
@device_options
def command(run_dir: Path, host: str, port: int, max_batch_size: int, max_wait_ms: float, max_inputs: int,
            max_chars: int, threads: int | None, log_level: str, overrides: tuple[str, ...],
            accelerator: str | None, devices: str | None) -> None:
    """Serve a trained run over HTTP: POST /predict, GET /health, GET /info.

    \b
    POST /predict  {"inputs": [TEXT or OBJECT, ...]}  ->  {"predictions": [...]}
                   (each input is what `platform predict` reads)
    GET  /health   liveness and batching counters
    GET  /info     task, model size, the run's test metrics, versions

    Concurrent requests are batched into one model call (--max-batch-size,
    --max-wait-ms). Bad requests get a 4xx and {"detail": MESSAGE}. The model runs on
    the device --accelerator/--devices choose, as for `platform run` (default: a GPU
    when there is one).

    \b
    Example:
      platform serve --run runs/intent-demo --port 8000
      curl -s localhost:8000/predict -d '{"inputs": ["wake me up at 7"]}'
    """
    from tasklight.api import Model
    from tasklight.inference import load_run  # torch: only once a command runs
    from tasklight.serve import serve
    from tasklight.serve.app import Batching, Limits

    if threads:
        import torch

        torch.set_num_threads(threads)
    model = Model(load_run(run_dir, overrides=overrides, accelerator=accelerator, devices=devices))
    limits = Limits(max_inputs=max_inputs, max_chars=max_chars)

    def announce(url: str) -> None:
        click.echo(f"Serving {model.task} from {run_dir} on {url} (Ctrl-C stops)", err=True)

    try:
        serve(model, host, port, limits=limits, batching=Batching(max_batch_size, max_wait_ms), log_level=log_level, announce=announce)
    except KeyboardInterrupt:  # uvicorn shut down gracefully, then re-raised the Ctrl-C
        pass
    click.echo("Stopped.", err=True)
