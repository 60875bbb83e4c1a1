"""Reproduce every learned part of claimcluster from public data (train partition only).

    python -m claimcluster.training encoder --data DIR      # the claim-tuned encoder delta
    python -m claimcluster.training scorers ...             # stance, pair and re-ranker models

See :mod:`claimcluster.training.data` for the dev partition and what is never read.
"""
