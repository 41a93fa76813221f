"""``kneeback models``: install, list and locate the pose model files."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from kneeback.errors import KneebackError
from kneeback.pose import models
from kneeback.settings import ModelVariant

__all__ = ["models_app"]

models_app = typer.Typer(
    help=(
        "Install, list and locate the MediaPipe pose models (pose_landmarker_{lite,full,heavy}"
        ".task). They are cached in the user cache folder, or in $KNEEBACK_MODEL_DIR when set."
    ),
    no_args_is_help=True,
)
_err = Console(stderr=True, highlight=False)
_out = Console(highlight=False)

_VariantOption = Annotated[
    ModelVariant, typer.Option("--variant", help="Model variant: lite, full or heavy.")
]


def _progress(message: str) -> None:
    _err.print(f"[dim]{message}[/]", markup=True, soft_wrap=True)


def _fail(exc: KneebackError) -> typer.Exit:
    _err.print(f"[bold red]Error:[/] {exc}", markup=True, soft_wrap=True)
    return typer.Exit(exc.exit_code)


@models_app.command("install")
def install(
    variant: _VariantOption = "full",
    force: Annotated[
        bool, typer.Option("--force", help="Download or build again even if it is cached.")
    ] = False,
) -> None:
    """Get a pose model into the cache: cached file, else MediaPipe's URL, else npm build.

    The lite model comes too: video runs use it to count the people in view.
    """
    try:
        for v in dict.fromkeys((variant, "lite")):
            typer.echo(str(models.install_model(v, force=force, progress=_progress)))
    except KneebackError as exc:
        raise _fail(exc) from None


@models_app.command("list")
def list_() -> None:
    """Show which model variants are cached, where, and where they came from."""
    table = Table(title=f"Pose models in {models.model_dir()}")
    table.add_column("variant")
    table.add_column("installed")
    table.add_column("source")
    table.add_column("size", justify="right")
    table.add_column("sha256")
    table.add_column("path", overflow="fold")
    for st in models.list_models():
        table.add_row(
            st.variant,
            "yes" if st.installed else "no",
            st.source or "-",
            f"{st.size_bytes / 1e6:.1f} MB" if st.size_bytes is not None else "-",
            st.sha256[:12] if st.sha256 else "-",
            str(st.path),
        )
    _out.print(table)


@models_app.command("path")
def path(variant: _VariantOption = "full") -> None:
    """Print only the path of a model's .task file, installing it first if it is missing."""
    try:
        task = models.ensure_model(variant, progress=_progress)
    except KneebackError as exc:
        raise _fail(exc) from None
    typer.echo(str(task))
