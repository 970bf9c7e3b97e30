"""Assay core: all logic, pure Python (never imports streamlit). The CLI is `python -m core`.

Packages by concept, each importing only those before it: lake (the lake and its access control), data,
features, training (the one owner of a trained run), analysis, review, review_views, governance,
operations, cli. Each package's `__init__` lists its public names in `__all__`; its `_modules` are private.
A few small modules (errors, names, progress, outputs, config, export) serve them all.
"""
import os as _os

# OpenMP threads (LightGBM, scikit-learn) sleep when idle instead of spinning: with several jobs on few
# cores, spinning threads starve the ones holding work (a 3 s LightGBM fit took 550 s beside other jobs
# here). Set before any OpenMP runtime loads; an explicit OMP_WAIT_POLICY wins. See core.compute.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
