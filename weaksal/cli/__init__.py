"""The ``weaksal`` command: it parses, calls the documented Python API and prints.

One module per group of commands (:mod:`~weaksal.cli.predict`, :mod:`~weaksal.cli.maps`,
:mod:`~weaksal.cli.training`, :mod:`~weaksal.cli.evaluation`,
:mod:`~weaksal.cli.data`, :mod:`~weaksal.cli.apps`); each registers its
commands on the one :data:`~weaksal.cli.common.app`. :func:`main` is the
entry point of both the installed ``weaksal`` script and ``python -m weaksal``.
"""

from __future__ import annotations

import signal
import sys

from weaksal.cli.common import app

# isort: off
# Each module registers its commands on import, in the order `weaksal --help` lists them.
from weaksal.cli import predict, maps, training, evaluation, data, apps  # noqa: F401, E402
# isort: on

__all__ = ["app", "main"]


def _terminate(signum, frame) -> None:
    raise KeyboardInterrupt  # SIGTERM ends a run like Ctrl-C: workers stopped, files complete


def main() -> None:
    """Run the command line with SIGTERM handled as Ctrl-C (every written file stays complete)."""
    signal.signal(signal.SIGTERM, _terminate)
    sys.exit(app())
