"""``python -m claimcluster`` runs the command line."""

from claimcluster.cli import run

run()
