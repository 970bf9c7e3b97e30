"""Run Deepchecks' full_suite on the split written by bench/checks.py, inside /work/venvs/deepchecks
(deepchecks 0.19.1 needs scikit-learn 1.6.1, lightgbm 4.5.0, pandas < 2.3, numpy < 2). Our model's skops
artifact holds Assay's own types and a newer LightGBM, so the same LightGBM parameters are fitted here on the
same training rows. Prints JSON: seconds of full_suite.run, and its checks' outcomes.
    /work/venvs/deepchecks/bin/python bench/_deepchecks_full_suite.py FOLDER
"""
import json
import sys
import time
import warnings
from pathlib import Path

import pandas as pd
from lightgbm import LGBMClassifier
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder

warnings.filterwarnings("ignore")
folder = Path(sys.argv[1])
spec = json.loads((folder / "spec.json").read_text())
train, test = pd.read_parquet(folder / "train.parquet"), pd.read_parquet(folder / "test.parquet")
label, cats = spec["target"], spec["categorical"]
numeric = [c for c in spec["features"] if c not in cats]
model = Pipeline([("encode", ColumnTransformer([("numeric", "passthrough", numeric),
                                                ("categorical", OrdinalEncoder(handle_unknown="use_encoded_value",
                                                                               unknown_value=-1), cats)])),
                  ("model", LGBMClassifier(**spec["params"], verbose=-1))])
model.fit(train[spec["features"]], train[label])

from deepchecks.tabular import Dataset  # noqa: E402  (imported after fitting: its import is not what is timed)
from deepchecks.tabular.suites import full_suite  # noqa: E402

started = time.perf_counter()
train_ds = Dataset(train[spec["features"] + [label]], label=label, cat_features=cats)
test_ds = Dataset(test[spec["features"] + [label]], label=label, cat_features=cats)
result = full_suite().run(train_dataset=train_ds, test_dataset=test_ds, model=model)
seconds = time.perf_counter() - started
passed = result.get_passed_checks()
failed = result.get_not_passed_checks()
print(json.dumps({"seconds": round(seconds, 2), "checks_run": len(result.results), "passed": len(passed),
                  "not_passed": [r.get_header() for r in failed][:40],
                  "train_rows": len(train), "test_rows": len(test)}))
