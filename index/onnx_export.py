"""One-time export of a sentence-transformers model to ONNX (fp32, and int8 where it pays).

The export runs once per model and precision and is kept under ``<home>/models/``; every later
process only loads the ``.onnx`` file (``index.embedding.OnnxEmbedder``), without torch. The
recipe uses the tools of the libraries themselves:

1. ``torch.onnx.export`` of the Hugging Face encoder (eager attention, so the next step can fuse
   it), dynamic batch and sequence axes;
2. ``onnxruntime.transformers.optimizer`` fuses embeddings + layer norm, attention, GELU and skip
   layer norms into ONNX Runtime's CPU kernels (the fp32 model);
3. ``onnxruntime.quantization.quantize_dynamic``: int8 weights per output channel, uint8
   activations quantized at run time (the settings of optimum's ``avx512_vnni`` configuration,
   which sentence-transformers' ``export_dynamic_quantized_onnx_model`` uses).

Every export is checked against the torch model before it is kept (cosine of a few sentences), and
written to a staging folder renamed into place, under a file lock: concurrent processes export once.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import platform
import shutil
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

from index.errors import ConfigError, NewsragError
from index.imports import torch as import_torch
from index.offline import stay_offline

RECIPE = 1  # bump when the export steps change: old exports are then redone
PRECISIONS = ("fp32", "int8")
EXPORT_TIMEOUT = 1800  # seconds: the export of a model several times this one's size on a slow CPU
# minimum cosine between the exported model's vectors and torch's on the check sentences
_MIN_COSINE = {"fp32": 0.9999, "int8": 0.95}
_CHECK_SENTENCES = (
    "Russia's defence ministry said 64 drones were intercepted overnight.",
    "The central bank left interest rates unchanged on Thursday, citing slowing inflation.",
    "Short.",
)
_SUPPORTED_MODULES = {"sentence_transformers.models.Transformer", "sentence_transformers.models.Pooling",
                      "sentence_transformers.models.Normalize"}


def cpu_has_fast_int8(cpuinfo: str | None = None, machine: str | None = None) -> bool:
    """True where int8 matrix products have their own instructions: x86 VNNI or AVX-512 BW, or
    the Arm dot-product extension. Elsewhere int8 goes through 16-bit multiply-adds that can
    saturate and gain little, so fp32 is used. ``cpuinfo`` is the text of /proc/cpuinfo."""
    machine = (machine or platform.machine()).lower()
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return machine in {"arm64", "aarch64"}  # Apple silicon and other Arm without /proc
    flags: set[str] = set()
    for line in cpuinfo.splitlines():
        if line.startswith(("flags", "Features")):
            flags.update(line.split(":", 1)[1].split())
    return bool(flags & {"avx512_vnni", "avx_vnni", "avx512bw", "asimddp"})


def pooling_of(model_path: Path) -> tuple[str, bool] | None:
    """``(pooling mode, normalize)`` when the model is Transformer + Pooling (+ Normalize), which
    is what the ONNX path reproduces; ``None`` for anything else (Dense layers, custom modules)."""
    modules_file = model_path / "modules.json"
    if not modules_file.is_file():
        return None
    modules = json.loads(modules_file.read_text())
    if {m.get("type") for m in modules} - _SUPPORTED_MODULES:
        return None
    normalize = any(m.get("type", "").endswith(".Normalize") for m in modules)
    pooling = next((m for m in modules if m.get("type", "").endswith(".Pooling")), None)
    if pooling is None:
        return None
    config = json.loads((model_path / pooling["path"] / "config.json").read_text())
    modes = [mode for mode in ("mean", "cls", "max") if config.get(f"pooling_mode_{mode}_tokens")]
    if len(modes) != 1 or config.get("pooling_mode_mean_sqrt_len_tokens"):
        return None
    return modes[0], normalize


def export_dir(model_path: Path, cache: Path) -> Path:
    """The folder of this model's exports: named by the model and a digest of its files."""
    digest = hashlib.sha256(str(RECIPE).encode())
    for name in sorted(os.listdir(model_path)):
        file = model_path / name
        if file.is_file():
            stat = file.stat()
            digest.update(f"{name}:{stat.st_size}".encode())
            if stat.st_size < 1_000_000:  # configs and vocabularies by content, weights by size
                digest.update(file.read_bytes())
    slug = "".join(c if c.isalnum() or c in "-_." else "-" for c in model_path.name)[:40]
    return cache / f"{slug}-{digest.hexdigest()[:12]}"


def ensure_onnx(model_path: Path, cache: Path, precision: str) -> Path:
    """The path of the ``precision`` ONNX model, exporting it first if it is not there yet. The
    export runs in a child process: torch and transformers, which it loads, never enter this one
    (a server would otherwise hold them, several hundred MB, until it stops)."""
    if precision not in PRECISIONS:
        raise ConfigError(f"ONNX precision {precision!r} is unknown: use one of {', '.join(PRECISIONS)}.")
    target = export_dir(model_path, cache) / f"{precision}.onnx"
    if target.is_file():
        return target
    import subprocess
    import sys

    try:
        done = subprocess.run([sys.executable, "-m", "index.onnx_export", str(model_path), str(cache), precision],
                              capture_output=True, text=True, timeout=EXPORT_TIMEOUT,
                              cwd=Path(__file__).resolve().parents[1])  # this package, whatever the caller's folder
    except subprocess.TimeoutExpired:
        raise NewsragError(f"The ONNX export of {model_path} took over {EXPORT_TIMEOUT} s and was stopped; "
                           "use NEWSRAG_EMBED_BACKEND=torch on this machine.") from None
    if done.returncode != 0 or not target.is_file():
        said = [line for line in done.stderr.splitlines() if line.strip()]
        last = said[-1].removeprefix("error: ") if said else f"the export exited with {done.returncode}"
        raise (ConfigError if done.returncode == 2 else NewsragError)(last)
    return target


def export(model_path: Path, cache: Path, precision: str) -> Path:
    """``ensure_onnx``'s export, in this process (``python -m index.onnx_export``)."""
    folder = export_dir(model_path, cache)
    target = folder / f"{precision}.onnx"
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    with _locked(folder / ".lock"):
        if target.is_file():  # another process exported it while we waited
            return target
        started = time.perf_counter()
        staging = folder / f".staging-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        made = []
        try:
            model = _load_torch_model(model_path)
            fp32 = folder / "fp32.onnx"
            if not fp32.is_file():
                _export_fp32(model, staging)
                _check(model, model_path, staging / "fp32.onnx", "fp32")
                os.replace(staging / "fp32.onnx", fp32)
                made.append("fp32")
            if precision == "int8":
                _quantize(fp32, staging / "int8.onnx")
                _check(model, model_path, staging / "int8.onnx", "int8")
                os.replace(staging / "int8.onnx", target)
                made.append("int8")
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        info = folder / "export.json"
        record = json.loads(info.read_text()) if info.is_file() else {"model": str(model_path), "recipe": RECIPE}
        for name in made:
            record[name] = {"seconds": round(time.perf_counter() - started, 1), "at": round(time.time())}
        info.write_text(json.dumps(record, indent=2))
    return target


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _load_torch_model(model_path: Path):
    stay_offline()
    try:
        import_torch()  # first, so a spaCy import meanwhile cannot hide it
        from transformers import AutoModel
        from transformers.utils import logging as hf_logging
    except ImportError as exc:
        raise ConfigError("Exporting the embedding model to ONNX needs torch and transformers: run "
                          "`pip install sentence-transformers` (or `make install`).") from exc
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    # eager attention exports as plain MatMul/Softmax, the pattern ONNX Runtime fuses into Attention
    return AutoModel.from_pretrained(str(model_path), attn_implementation="eager",
                                     local_files_only=True).eval()


def _export_fp32(model, out: Path) -> None:
    import inspect

    import torch

    names = [n for n in ("input_ids", "attention_mask", "token_type_ids")
             if n in inspect.signature(model.forward).parameters]

    class Encoder(torch.nn.Module):  # positional inputs in, last hidden state out
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *inputs):
            return self.inner(**dict(zip(names, inputs, strict=True))).last_hidden_state

    ids = torch.tensor([[101, 2023, 2003, 1037, 3231, 102], [101, 2460, 102, 0, 0, 0]])
    mask = (ids != 0).long()  # a padded row, so the exported graph applies the mask
    sample = {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}
    raw = out / "raw.onnx"
    axes = {n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the tracer's notes on Python control flow in transformers
        torch.onnx.export(Encoder(model).eval(), tuple(sample[n] for n in names), str(raw), input_names=names,
                          output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=17,
                          dynamo=False)
    config = model.config
    try:
        from onnxruntime.transformers import optimizer

        fused = optimizer.optimize_model(str(raw), model_type="bert",
                                         num_heads=int(getattr(config, "num_attention_heads", 0)),
                                         hidden_size=int(getattr(config, "hidden_size", 0)))
        fused.save_model_to_file(str(out / "fp32.onnx"))
    except Exception:  # a model the BERT fusions do not fit still runs unfused
        os.replace(raw, out / "fp32.onnx")


def _quantize(fp32: Path, out: Path) -> None:
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quiet = logging.getLogger()
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # "consider pre-processing" advice is for static quantization
    try:
        quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8, per_channel=True,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    finally:
        quiet.setLevel(level)


def _check(model, model_path: Path, onnx_path: Path, precision: str) -> None:
    """Refuse an export whose vectors differ from the torch model's."""
    import numpy as np
    import torch

    from index.onnx_runner import OnnxRunner

    pooling = pooling_of(model_path) or ("mean", True)
    runner = OnnxRunner(onnx_path, model_path=model_path, pooling=pooling[0], normalize=True)
    ours = runner.encode(list(_CHECK_SENTENCES))
    batch = runner.batch(list(_CHECK_SENTENCES))
    model.eval()  # the exporter restores the training flag of the module it was given
    with torch.no_grad():
        hidden = model(**{k: torch.from_numpy(batch[k]) for k in runner.inputs}).last_hidden_state.numpy()
    theirs = runner.pool(hidden, batch["attention_mask"])
    cosine = float(np.min(np.sum(ours * theirs, axis=1)))
    if cosine < _MIN_COSINE[precision]:
        raise NewsragError(f"The {precision} ONNX export of {model_path} gives different vectors from the "
                           f"model (cosine {cosine:.4f}); use NEWSRAG_EMBED_BACKEND=torch.")


def main(argv: list[str] | None = None) -> int:
    """``python -m index.onnx_export MODEL_PATH CACHE PRECISION``: the export, in a process of its
    own; one line on stderr and exit 2 (a setting to change) or 1 (anything else) when it fails."""
    import sys

    model_path, cache, precision = argv if argv is not None else sys.argv[1:]
    try:
        export(Path(model_path), Path(cache), precision)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except NewsragError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 (one line for the parent, whatever failed)
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
