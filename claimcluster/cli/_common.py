"""What the commands share: the error-to-exit-code group, logging to stderr, common options and helpers."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path
from typing import Literal

import click

from claimcluster.cluster import DEFAULT_MIN_CLUSTER_SIZE, DEFAULT_MIN_SAMPLES
from claimcluster.errors import ClaimClusterError
from claimcluster.models import DEFAULT_MIN_COHESION

DEBUG_ENV = "CLAIMCLUSTER_DEBUG"
"""Set to 1 to see the traceback of an unexpected error instead of its one-line message."""


class Group(click.Group):
    """Turns every error into one line on stderr: exit 2 for bad input, files or storage, 1 for a bug."""

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as exc:  # an unknown option of the program itself
            click.echo(f"error: {' '.join(exc.format_message().split())} (see {info_name} --help)", err=True)
            raise click.exceptions.Exit(2) from None

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            command = f"{ctx.command_path} {ctx.invoked_subcommand or ''}".strip()
            _fail(ctx, 2, f"{exc.format_message()} (see {command} --help)")
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except ClaimClusterError as exc:
            _fail(ctx, 2, str(exc))
        except BrokenPipeError:  # the reader went away (``| head``): stop quietly, as Unix tools do
            with contextlib.suppress(OSError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(0)
        except OSError as exc:
            where = f": {exc.filename}" if exc.filename else ""
            _fail(ctx, 2, f"{exc.strerror or exc}{where}")
        except KeyboardInterrupt:
            _fail(ctx, 130, "interrupted")
        except Exception as exc:
            if os.environ.get(DEBUG_ENV) == "1":
                raise
            _fail(ctx, 1, f"unexpected {type(exc).__name__}: {exc} (a bug: please report it; {DEBUG_ENV}=1 shows "
                          "the traceback)")


def _fail(ctx: click.Context, code: int, message: str) -> None:
    click.echo("error: " + " ".join(message.split()), err=True)
    ctx.exit(code)


class SizeOrAuto(click.ParamType):
    """An integer of at least 2, or "auto"."""

    name = "N|auto"

    def convert(self, value, param, ctx):
        if value == "auto" or isinstance(value, int):
            return value
        try:
            size = int(value)
        except ValueError:
            self.fail(f"{value!r} is neither 'auto' nor an integer", param, ctx)
        if size < 2:
            self.fail(f"{size} is below 2: a claim recurs", param, ctx)
        return size


def log_to_stderr(level: int) -> None:
    """Progress lines and warnings of the library on stderr, one line each (also when stderr is a file)."""
    logger = logging.getLogger("claimcluster")
    logger.setLevel(level)
    if not any(isinstance(h, _StderrLines) for h in logger.handlers):
        logger.addHandler(_StderrLines())


class _StderrLines(logging.Handler):
    """Writes to whatever stderr is now (click swaps it in tests); warnings and errors say so."""

    def emit(self, record: logging.LogRecord) -> None:
        prefix = f"{record.levelname.lower()}: " if record.levelno >= logging.WARNING else ""
        click.echo(prefix + record.getMessage(), err=True)


JUDGE = click.option("--judge/--no-judge", default=True, show_default=True,
                      help="Read each claim member together with the claim's representative and keep only the same "
                           "assertion or its denials (--no-judge: density clusters as they are; faster, can chain).")


def field_options(func):
    for option in reversed(
        [
            click.option("--text-field", default="text", show_default=True, help="Field holding the article text."),
            click.option("--id-field", default="id", show_default=True, help="Field holding the document id."),
            click.option("--outlet-field", default="outlet", show_default=True, help="Field naming the outlet."),
            click.option("--date-field", default="published", show_default=True, help="Field with the date."),
            click.option("--replace-bad-bytes", is_flag=True, help="Replace undecodable bytes instead of failing."),
        ]
    ):
        func = option(func)
    return func


def load(paths, text_field, id_field, outlet_field, date_field, replace_bad_bytes):
    from claimcluster.documents import FieldMap, load_documents

    fields = FieldMap(text=text_field, id=id_field, outlet=outlet_field, published=date_field)
    return load_documents(paths, fields, errors="replace" if replace_bad_bytes else "strict")


DIRECTORY = click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
STORE_MODEL = click.option("--model", default=None, help="Model the store was built with (default: packaged MiniLM).")
ASSESS = click.option("--assess/--no-assess", default=True, show_default=True,
                       help="Give the query's stance toward each match and the assertion rules they break "
                            "(other figures, opposite polarity, swapped roles).")
MIN_SCORE = click.option("--min-score", default="auto", show_default=True,
                          help="Drop matches scoring below this; 'auto' = calibrated no-match threshold, "
                               "'none' = keep all.")


def cluster_options(func):
    for option in reversed(
        [
            click.option("--min-cluster-size", type=click.IntRange(min=2), default=DEFAULT_MIN_CLUSTER_SIZE,
                         show_default=True),
            click.option("--min-samples", type=click.IntRange(min=1), default=DEFAULT_MIN_SAMPLES, show_default=True),
            click.option("--min-cohesion", type=click.FloatRange(0, 1), default=None,
                         help=f"default: the model's ({DEFAULT_MIN_COHESION} for MiniLM)"),
        ]
    ):
        func = option(func)
    return func


def embedder_or_none(model: str | None):
    """``--model`` of a command that opens a saved index or store: None lets it use the model it was built with."""
    from claimcluster.embed import Embedder

    return Embedder(model) if model else None


def floor(value: str) -> float | Literal["auto"] | None:
    """The ``min_score`` of a --min-score value: a number, "auto" or "none" (keep every match)."""
    if value in ("auto", "none"):
        return None if value == "none" else "auto"
    try:
        return float(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a number, 'auto' or 'none'", param_hint="--min-score") from None


def check_out(out: Path | None, inputs: tuple[Path, ...]) -> None:
    """Refuse an ``--out`` that is one of the input files, or a file already in an input directory (an
    article, or a file of the user's there: writing it would destroy it, and a later run would read it)."""
    if out is None or not out.exists():
        return
    for path in inputs:
        if path.is_file() and os.path.samefile(path, out):
            raise click.UsageError(f"--out {out} is the input file {path}: writing it would destroy the input; "
                                   "choose another file")
        if path.is_dir() and out.resolve().is_relative_to(path.resolve()):
            raise click.UsageError(f"--out {out} is a file in the input directory {path}: writing it would "
                                   "destroy what is there; choose a file outside it")
