"""Feature building and the feature store: a spec (base dataset, derived expressions, point-in-time
aggregates, as-of joins; see _spec.py for its schema) compiles to one SQL query over dataset versions
(`compile_spec`), is previewed within limits (`preview`, _limits.py) and built into a versioned feature set
with its lineage and statistics (`build`)."""
from core.features._build import Compiled, compile_spec, preview
from core.features._expressions import ALLOWED_FUNCTIONS, check_expression
from core.features._limits import MAX_SPEC_BYTES
from core.features._spec import (FUNCTIONS, Aggregate, FeatureSpec, Join, Window, load_spec, parse_derived_lines,
                                 parse_window, spec_from_dict)
from core.features._store import FeatureSetVersion, build, get, latest, statistics_profile, versions

__all__ = ["ALLOWED_FUNCTIONS", "FUNCTIONS", "Aggregate", "Compiled", "FeatureSetVersion", "FeatureSpec", "Join", "MAX_SPEC_BYTES",
           "Window", "build", "check_expression", "compile_spec", "get", "latest", "load_spec", "parse_window",
           "parse_derived_lines", "preview", "spec_from_dict", "statistics_profile", "versions"]
