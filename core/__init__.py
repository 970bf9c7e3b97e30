"""Assay core: all logic, pure Python (never imports streamlit). The CLI is `python -m core`."""
import os as _os

# OpenMP threads (LightGBM, scikit-learn) sleep when idle instead of spinning: with several jobs on few
# cores, spinning threads starve the ones holding work (a 3 s LightGBM fit took 550 s beside other jobs
# here). Set before any OpenMP runtime loads; an explicit OMP_WAIT_POLICY wins. See core.compute.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
