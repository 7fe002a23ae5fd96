"""The argparse parser of jaxcrl's plain commands (collect, plot, OGBench data): its errors are
one line, as train.py's and eval.py's are, never argparse's usage block."""

from __future__ import annotations

import argparse
import sys


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors print ``error: MESSAGE (see PROG --help)`` and exit 2."""

    def error(self, message: str) -> None:
        """Exit with one error line that points to the command's help."""
        print(f"error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)
