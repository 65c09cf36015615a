"""An exported encoder on ONNX Runtime (``OnnxRunner``), and what every encoder shares: the model's
tokenizer and word-piece limit, batches of texts of similar length, and the pooling of a part of a
text from its word-piece states. ``index.embedding`` embeds with it, ``index.onnx_export`` checks an
export with it; it imports neither.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from index.errors import ConfigError, NewsragError

if TYPE_CHECKING:
    import numpy as np


def tokenizer_of(model_path: Path):
    """The fast tokenizer of a model folder (its ``tokenizer.json``)."""
    from tokenizers import Tokenizer

    tokenizer_file = model_path / "tokenizer.json"
    if not tokenizer_file.is_file():
        raise ConfigError(f"{model_path} has no tokenizer.json: newsrag needs a fast tokenizer "
                          "to fit chunks to the model.")
    return Tokenizer.from_file(str(tokenizer_file))


def max_tokens_of(model_path: Path) -> int:
    """The word pieces the model reads at most (its sentence-transformers configuration; 512 without one)."""
    config = model_path / "sentence_bert_config.json"
    if config.is_file():
        return int(json.loads(config.read_text())["max_seq_length"])
    return 512


def pool_spans(states: tuple[np.ndarray, list[tuple[int, int]], np.ndarray], spans: Sequence[tuple[int, int]]
            ) -> np.ndarray | None:
    """The normalized mean state of the word pieces inside ``spans``; ``None`` when a span reaches
    past what the encoder read, or no word piece lies inside."""
    import numpy as np

    hidden, offsets, _ = states
    read = max((end for _, end in offsets), default=0)
    if not spans or max(end for _, end in spans) > read:
        return None
    rows = [i for i, (s, e) in enumerate(offsets) if e > s and any(s < hi and e > lo for lo, hi in spans)]
    if not rows:
        return None
    vector = hidden[rows].mean(axis=0)
    return vector / max(float(np.linalg.norm(vector)), 1e-12)


class OnnxRunner:
    """An exported encoder on ONNX Runtime: tokenize, run, pool, normalize. Batches are formed by
    token length so little padding is computed."""

    def __init__(self, onnx_path: Path, *, model_path: Path, pooling: str = "mean", normalize: bool = True,
                 max_tokens: int | None = None, threads: int | None = None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        # a server shares its cores with other work: do not busy-wait between runs
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if threads:
            options.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
            raise NewsragError(f"Cannot load the ONNX embedding model {onnx_path}: {exc}; delete it to "
                               "export it again, or use NEWSRAG_EMBED_BACKEND=torch.") from exc
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.pooling, self.normalize = pooling, normalize
        self.tokenizer = tokenizer_of(model_path)
        self.tokenizer.enable_truncation(max_tokens or max_tokens_of(model_path))
        self.tokenizer.no_padding()

    def batch(self, texts: list[str], encodings: list | None = None) -> dict[str, np.ndarray]:
        import numpy as np

        encodings = encodings or self.tokenizer.encode_batch(texts)
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, encoding in enumerate(encodings):
            ids[row, :len(encoding.ids)] = encoding.ids
            mask[row, :len(encoding.ids)] = 1
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}

    def pool(self, hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
        import numpy as np

        if self.pooling == "cls":
            vectors = hidden[:, 0]
        elif self.pooling == "max":
            vectors = np.where(mask[..., None] > 0, hidden, -1e9).max(axis=1)
        else:
            weights = mask[..., None].astype(np.float32)
            vectors = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        if self.normalize:
            vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors.astype(np.float32, copy=False)

    def states(self, text: str) -> tuple[np.ndarray, list[tuple[int, int]], np.ndarray]:
        """Each word piece's output state, its character offsets, and the pooled vector of ``text``."""
        (_, hidden, mask, (encoding,)), = self._runs([text], 1)
        return hidden[0], list(encoding.offsets), self.pool(hidden, mask)[0]

    def _runs(self, texts: list[str], batch_size: int):
        """Each length batch of ``texts``: its rows, the encoder's states, their mask, the encodings."""
        encodings = self.tokenizer.encode_batch(texts)
        for rows in length_batches([len(e.ids) for e in encodings], batch_size):
            picked = [encodings[i] for i in rows]
            batch = self.batch([texts[i] for i in rows], picked)
            hidden = self.session.run(None, {name: batch[name] for name in self.inputs})[0]
            yield rows, hidden, batch["attention_mask"], picked

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        return self.encode_pooled(texts, None, batch_size)[0]

    def encode_pooled(self, texts: list[str], spans: Sequence[Sequence[tuple[int, int]]] | None,
                      batch_size: int = 32) -> tuple[np.ndarray, list[list[np.ndarray | None]]]:
        """The vectors of ``texts`` and, from the same runs, each text's ``spans`` pooled in it."""
        import numpy as np

        out: np.ndarray | None = None
        pooled: list[list[np.ndarray | None]] = [[] for _ in texts]
        for rows, hidden, mask, picked in self._runs(texts, batch_size):
            vectors = self.pool(hidden, mask)
            if out is None:
                out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
            out[rows] = vectors
            for k, i in enumerate(rows if spans is not None else ()):
                states = (hidden[k], list(picked[k].offsets), vectors[k])
                pooled[i] = [pool_spans(states, [span]) for span in spans[i]]
        return out, pooled


PADDING = 1.25  # a batch computes at most this many token positions per real token


def length_batches(lengths: Sequence[int], size: int) -> list[list[int]]:
    """Indexes of texts in batches of similar length, shortest first: a batch grows while it holds
    fewer than ``size`` texts and padding to its longest adds at most a quarter. A question and its
    claims (one long text, three short ones) were one batch padded to the question: 44-52 ms
    against 35 ms for the four one by one."""
    batches: list[list[int]] = []
    real = 0
    for i in sorted(range(len(lengths)), key=lambda i: lengths[i]):
        batch = batches[-1] if batches else None
        if batch and len(batch) < size and (len(batch) + 1) * lengths[i] <= PADDING * (real + lengths[i]):
            batch.append(i)
            real += lengths[i]
        else:
            batches.append([i])
            real = lengths[i]
    return batches
