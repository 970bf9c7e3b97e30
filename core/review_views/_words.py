"""Plain words for the views' sentences and tables: a group as `race_ethnicity = Group B`, a class by its
name (`defaulted`, `not defaulted`, never `1`), what "predicted positive" means for this model ("predicted
to have defaulted"), and a value at its column's precision (`64,400`, not `64400.000000`)."""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional

from core.review.results import Outcome

_YES = {"1", "1.0", "true", "yes", "y", "t"}


def group_label(group: Optional[Mapping]) -> str:
    """A group as people read it: `sex = female, race_ethnicity = Group B` (empty for no group)."""
    return ", ".join(f"{k} = {v}" for k, v in (group or {}).items())


def _is_yes(value: Any) -> bool:
    return str(value).strip().lower() in _YES


class Words:
    """How sentences name the outcome of one model: its target column and positive class."""

    def __init__(self, outcome: Optional[Outcome] = None):
        outcome = outcome or Outcome()
        self.outcome = outcome
        target, positive = outcome.target, outcome.positive
        words = target.replace("_", " ").strip()
        if positive is not None and not _is_yes(positive):  # a named class: credit_risk = bad
            self.positive_name = str(positive)
            self.predicted = f"predicted {target} = {positive}" if target else f"predicted {positive}"
            self.truly = f"whose {target or 'outcome'} was {positive}"
            self.truly_not = f"whose {target or 'outcome'} was not {positive}"
        elif not words:
            self.positive_name = "positive"
            self.predicted, self.truly, self.truly_not = ("predicted positive", "whose true outcome was positive",
                                                          "whose true outcome was negative")
        elif words.startswith(("is ", "has ")):
            verb, rest = words.split(" ", 1)
            self.positive_name = rest
            be = "be" if verb == "is" else "have"
            self.predicted = f"predicted to {be} {rest}"
            self.truly = f"who {'were' if verb == 'is' else 'had'} {rest}"
            self.truly_not = f"who {'were not' if verb == 'is' else 'did not have'} {rest}"
        elif words.endswith("ed"):  # defaulted, churned: the past participle reads without a verb's stem
            self.positive_name = words
            self.predicted, self.truly, self.truly_not = (f"predicted to have {words}", f"who had {words}",
                                                          f"who had not {words}")
        else:
            self.positive_name = words
            self.predicted, self.truly, self.truly_not = (f"predicted {words}", f"labelled {words}",
                                                          f"not labelled {words}")

    @classmethod
    def of_run(cls, run) -> "Words":
        """The words of a trained run (core.training.Run): its target, task, classes and positive class."""
        return cls(Outcome(run.target, run.task, run.positive, tuple(run.classes or ())))

    def class_name(self, value: Any) -> str:
        """A class by its name: the positive class as the outcome says it, the other of two as its negation."""
        positive, classes = self.outcome.positive, [str(c) for c in self.outcome.classes]
        if positive is not None and str(value) == str(positive):
            return self.positive_name
        others = [c for c in classes if c != str(positive)]
        if positive is not None and len(classes) == 2 and others == [str(value)]:
            return str(value) if not _is_yes(positive) else f"not {self.positive_name}"
        target = self.outcome.target
        return f"{target} = {value}" if target and _is_number(value) else str(value)


def _is_number(value: Any) -> bool:
    try:
        float(str(value))
    except ValueError:
        return False
    return True


def num(value: Any, spec: str = ".4f") -> str:
    """A stored number in the given format; an older review that did not keep it says so."""
    return "(not stored)" if value is None else format(value, spec)


def decimals(values: Iterable[Any], *, most: int = 4) -> int:
    """The precision a column's values are written at (4.7 -> 1; 81300.0 -> 0)."""
    found = 0
    for v in values:
        if isinstance(v, float) and v == v and not v.is_integer():
            found = max(found, len(f"{v:.{most}f}".rstrip("0").split(".")[1]))
    return found


def value_text(value: Any, places: int = 0) -> str:
    """A data value at its column's precision: 64,400 and 4.7, never 64400.000000."""
    if value is None or (isinstance(value, float) and value != value):
        return "(missing)"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return f"{value:,.{places}f}"
