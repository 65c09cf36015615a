"""Whether the answer line's name is right: a logistic model over what the evidence says of it.

The name the evidence agrees on (``rag.direct.choose_name``) is shown when it is likely right. The
rule before was a ratio: the name must weigh ``Tuning.name_ahead`` times its rival. The model reads
that ratio with the other signs the grouping already computes (``FEATURES``): how many sentences and
articles name it, how many of them are cited, whether the best evidence sentence names it, how the
recognizer types it, how much of all the names' weight it carries. It was trained by
``python -m eval.train_line`` on the MultiHop-RAG train split (every question with an entity answer,
labelled by whether the name is the gold answer), and its file (``rag/models/answer_line.json``) records
the command, the data's sha256 and the cross-validated figures. As ``Tuning.line_model`` says, the
model decides alone (the line is shown from ``Tuning.line_probability``), or withholds what the ratio
proposes under that probability and shows alone what it gives ``Tuning.line_alone_probability`` (the
shipped use), or is not read (the ratio alone).

Applied with numpy alone: the file holds the standardisation and the coefficients.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from index.errors import ConfigError

MODEL_FILE = Path(__file__).parent / "models" / "answer_line.json"
VETO = 2  # ``Tuning.line_model``: the ratio rule proposes the line and the model may withhold it
VERSION = 1

FEATURES = (
    "log_lead",  # log of its weight over the next name's (capped: no rival)
    "sentences",  # evidence sentences naming it
    "cited",  # of them cited
    "articles",  # articles naming it
    "corroborated",  # named by every outlet the question names, in several articles
    "type_share",  # share of its recognizer types that are of the type asked
    "in_best",  # the best evidence sentence names it
    "top_weight",  # the weight of the best sentence naming it
    "words",  # words of the name shown
    "person",  # a person is asked for
    "share",  # its share of all the names' weight
    "names",  # log of the number of names of the type asked
)
LEAD_CAP = 5.0


@dataclass(frozen=True)
class LineModel:
    """A logistic model: ``p = 1 / (1 + exp(-(intercept + coef . (x - mean) / scale)))``."""

    coef: tuple[float, ...]
    intercept: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    trained: dict

    def probability(self, x: Sequence[float]) -> float:
        z = self.intercept + sum(c * (v - m) / s for c, v, m, s in zip(self.coef, x, self.mean, self.scale,
                                                                       strict=True))
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))

    def to_json(self) -> dict:
        return {"version": VERSION, "features": list(FEATURES), "coef": list(self.coef),
                "intercept": self.intercept, "mean": list(self.mean), "scale": list(self.scale),
                "trained": self.trained}

    @classmethod
    def from_json(cls, data: dict, *, where: str = "the answer-line model") -> LineModel:
        if data.get("version") != VERSION or data.get("features") != list(FEATURES):
            raise ConfigError(f"{where} was trained for other features (version {data.get('version')!r}); "
                              "train it again: python -m eval.train_line --data ../shared/datasets/multihop-rag-train")
        n = len(FEATURES)
        if not all(len(data[k]) == n for k in ("coef", "mean", "scale")):
            raise ConfigError(f"{where} holds {len(data['coef'])} coefficients for {n} features.")
        return cls(coef=tuple(map(float, data["coef"])), intercept=float(data["intercept"]),
                   mean=tuple(map(float, data["mean"])), scale=tuple(map(float, data["scale"])),
                   trained=dict(data.get("trained", {})))


@lru_cache(maxsize=4)
def load(path: Path = MODEL_FILE) -> LineModel | None:
    """The shipped model, or ``None`` when there is no file (the ratio rule then decides)."""
    if not path.is_file():
        return None
    try:
        return LineModel.from_json(json.loads(path.read_text(encoding="utf-8")), where=str(path))
    except (ValueError, KeyError, TypeError) as error:
        raise ConfigError(f"{path} is not an answer-line model: {error}") from None


def fit(rows: Sequence[Sequence[float]], labels: Sequence[int], *, l2: float = 1.0, steps: int = 50,
        trained: dict | None = None) -> LineModel:
    """A logistic regression by Newton's method on standardised features, with an L2 penalty
    ``l2`` on the coefficients (not the intercept): deterministic, the same model for the same rows."""
    import numpy as np

    x = np.asarray(rows, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != len(FEATURES) or len(y) != len(x):
        raise ValueError(f"expected rows of {len(FEATURES)} features and one label each")
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    z = np.hstack([np.ones((len(x), 1)), (x - mean) / scale])
    w = np.zeros(z.shape[1])
    penalty = np.full(z.shape[1], l2)
    penalty[0] = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ w, -50, 50)))
        gradient = z.T @ (p - y) + penalty * w
        hessian = (z * (p * (1 - p))[:, None]).T @ z + np.diag(penalty) + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.max(np.abs(step)) < 1e-10:
            break
    return LineModel(coef=tuple(float(v) for v in w[1:]), intercept=float(w[0]),
                     mean=tuple(float(v) for v in mean), scale=tuple(float(v) for v in scale),
                     trained=trained or {})
