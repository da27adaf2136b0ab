"""The Dagster shell layer: builders that turn table specs and pure compute functions into assets.

Everything that imports ``dagster`` for the domains lives here or in a domain's ``assets.py`` /
``checks.py`` / ``definitions.py``; the numerics (``estimators/``, each domain's pure modules) and
the storage layer never import it (``test_layers.py``).
"""
