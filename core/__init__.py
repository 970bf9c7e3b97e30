"""Assay core: all logic, pure Python (never imports streamlit). The CLI is `python -m core`."""
