"""``check-model export``: write a model in another tool's language (Promela, for SPIN)."""

from __future__ import annotations

import sys

import click

from mhpcheck.model.promela import export_promela

from .options import model_inputs, model_options, system_from_options, user_errors
from .output import check_output_file, write_atomic


@click.command("export")
@click.argument("model")
@model_options
@click.option("--format", "fmt", type=click.Choice(["promela"]), default="promela",
              show_default=True, help="Output language.")
@click.option("--invariants", is_flag=True,
              help="Assert the model's invariants after every step.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write here instead of stdout.")
def export_cmd(model: str, params: tuple[str, ...], knobs: tuple[str, ...],
               preset: str | None, fmt: str, invariants: bool, output: str | None) -> None:
    """Write MODEL's SPIN twin: globals, one loop of d_step guarded actions.

    SPIN's "states, stored" for the twin (`spin -o2 -a`, pan built with -DSAFETY
    -DNOREDUCE, run with -c0) equals our distinct-state count; with several initial
    states it is one more, and the header says so. Without -o2 SPIN drops a global that
    nothing reads and may count fewer states. MODEL is a registered model's name or a model file,
    FILE.py:CLASS.
    """
    with user_errors():
        check_output_file(output, "--output", model_inputs(model))
        ts = system_from_options(model, params, knobs, preset)
        twin = export_promela(ts, invariants=invariants)
        text = twin.text
        if twin.spin_offset:
            text = (f"/* SPIN stores {twin.spin_offset} more state than mhpcheck counts: "
                    "the choice of initial state. */\n" + text)
        if output:
            write_atomic(output, text, "--output")
    if output:
        click.echo(f"wrote {output}", err=True)
    else:
        sys.stdout.write(text)
