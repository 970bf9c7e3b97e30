"""Models in service: batch `scoring`, the real-time endpoint (`serve`), `drift` watching, `retrain`,
and `doctor` (what crashed jobs left behind)."""

__all__ = ["doctor", "drift", "retrain", "scoring", "serve"]
