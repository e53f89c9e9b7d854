"""``python -m weaksal ...`` (what ``torchrun -m weaksal train ...`` launches)."""

from weaksal.cli import main

main()
