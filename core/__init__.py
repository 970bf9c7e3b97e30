"""Assay core: all logic, pure Python (never imports streamlit). The CLI is `python -m core`.

Packages by concept, each importing only those before it: lake (the lake and its access control), data,
features, training (the one owner of a trained run), analysis, review, review_views, governance,
operations, cli. Each package's `__init__` lists its public names in `__all__`; its `_modules` are private.
A few small modules (errors, names, progress, outputs, config, export) serve them all.
"""
