"""Direct loss estimation (DLE, as NannyML): a second model, fitted on the reference (the model's held-out
rows, labels known), learns each row's loss from the model's inputs and its prediction; a chunk's metric is
then the mean of the predicted losses. Regressors: MAE (absolute error) and RMSE (squared error). A
classifier without probabilities can have its accuracy estimated the same way (the loss: a wrong class).
The loss model is scikit-learn's histogram gradient boosting, which takes missing values as they are."""
from __future__ import annotations

from typing import Optional

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.metrics import mean_absolute_error, mean_squared_error
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder

from core.monitoring._cbpe import MIN_LABELLED
from core.monitoring._outputs import Outputs

REGRESSION_METRICS = ("mae", "rmse")
CLASSIFIER_METRICS = ("accuracy",)
_LOSSES = {"mae": "absolute", "rmse": "squared", "accuracy": "wrong"}


class DLE:
    def __init__(self, numeric: list[str], categorical: list[str], metrics: tuple, seed: int = 0):
        self.numeric, self.categorical, self.metrics, self.seed = numeric, categorical, metrics, seed
        self.models: dict = {}

    def fit(self, reference: Outputs) -> "DLE":
        known = reference.labelled
        frame = self._inputs(reference.subset(known))
        for metric in self.metrics:
            loss = _loss(_LOSSES[metric], reference.subset(known))
            encoder = ColumnTransformer([("categorical", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                                                        encoded_missing_value=-1), self.categorical)],
                                        remainder="passthrough")
            model = Pipeline([("encode", encoder),
                              ("loss", HistGradientBoostingRegressor(max_iter=100, learning_rate=0.1, random_state=self.seed))])
            self.models[metric] = model.fit(frame, loss)
        return self

    def estimate(self, outputs: Outputs, metrics: tuple) -> dict:
        if len(outputs.X) == 0:
            return {m: None for m in metrics}
        frame = self._inputs(outputs)
        values = {}
        for metric in metrics:
            mean = float(np.clip(self.models[metric].predict(frame), 0, None).mean())
            values[metric] = {"mae": mean, "rmse": float(np.sqrt(mean)), "accuracy": 1.0 - min(mean, 1.0)}[metric]
        return values

    def _inputs(self, outputs: Outputs) -> pd.DataFrame:
        frame = outputs.X[self.numeric + self.categorical].copy()
        for column in self.categorical:
            frame[column] = frame[column].astype(object).where(frame[column].notna(), None).astype(str)
        prediction = outputs.values if outputs.values is not None else outputs.positions
        frame["__prediction"] = np.asarray(prediction, dtype=float)
        return frame


def _loss(kind: str, outputs: Outputs) -> np.ndarray:
    if kind == "wrong":
        return (outputs.positions != outputs.truth.astype(int)).astype(float)
    error = outputs.truth - outputs.values
    return np.abs(error) if kind == "absolute" else error ** 2


def realized(outputs: Outputs, metrics: tuple) -> Optional[dict]:
    known = outputs.labelled
    if known.sum() < MIN_LABELLED:
        return None
    known_outputs = outputs.subset(known)
    values = {}
    for metric in metrics:
        if metric == "accuracy":
            values[metric] = float(1.0 - _loss("wrong", known_outputs).mean())
        elif metric == "mae":
            values[metric] = float(mean_absolute_error(known_outputs.truth, known_outputs.values))
        else:
            values[metric] = float(np.sqrt(mean_squared_error(known_outputs.truth, known_outputs.values)))
    return values
