"""How a message tells the user to install one of jaxcrl's optional extras (video, plot, wandb,
ogbench, ...): in the checkout it is installed from, or from the package index."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

# The checkout jaxcrl runs from, when installed editable (its pyproject.toml beside the package).
CHECKOUT = Path(__file__).resolve().parent.parent


def install_extra(extra: str) -> str:
    """The pip command that installs ``extra``: ``pip install -e '.[extra]'`` (with the
    checkout's path when run from elsewhere) for an editable install, else
    ``pip install 'jaxcrl[extra]'``."""
    if not (CHECKOUT / "pyproject.toml").is_file():
        return f"pip install 'jaxcrl[{extra}]'"
    here = Path(os.getcwd()).resolve() == CHECKOUT
    where = "." if here else str(CHECKOUT)
    return f"pip install -e {shlex.quote(f'{where}[{extra}]')}"
