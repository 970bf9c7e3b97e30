"""The organisation's catalog: registered models and feature sets in one searchable list."""
from __future__ import annotations

from typing import Optional

from core import features
from core.governance import registry
from core.lake import Lake


def search(lake: Lake, *, text: str = "", kind: Optional[str] = None, usecase: Optional[str] = None,
           owner: str = "", tag: str = "", task: Optional[str] = None, status: Optional[str] = None) -> list[dict]:
    """Models (with their aliases as status) and feature sets, filtered by every given criterion."""
    items = []
    if kind in (None, "model"):
        for model in registry.list_models(lake, usecase=usecase):
            items.append({"kind": "model", "name": model["name"], "usecase": model["usecase"],
                          "description": model["description"] or "", "owners": model["owners"],
                          "tags": [f"{k}={v}" for k, v in model["tags"].items()], "task": model["task"],
                          "status": sorted(model["aliases"]) or ["registered"], "latest": model["latest_version"],
                          "created_by": model["created_by"]})
    if kind in (None, "feature_set"):
        for feature_set in features.latest(lake, usecase=usecase):
            items.append({"kind": "feature_set", "name": feature_set.name, "usecase": feature_set.usecase,
                          "description": feature_set.description or "", "owners": [feature_set.owner] if feature_set.owner else [],
                          "tags": [], "task": None, "status": ["published"], "latest": feature_set.version,
                          "created_by": feature_set.created_by})
    needle = text.strip().lower()

    def keep(item: dict) -> bool:
        haystack = " ".join([item["name"], item["description"], " ".join(item["tags"]), " ".join(item["owners"])]).lower()
        return ((not needle or needle in haystack) and (not owner or owner in item["owners"])
                and (not tag or tag in item["tags"]) and (not task or item["task"] == task)
                and (not status or status in item["status"]))

    return [i for i in items if keep(i)]
