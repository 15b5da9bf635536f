"""``python -m stsdetect``: the command line (see :mod:`stsdetect.cli`)."""

from stsdetect.cli import console

console()
