"""Heavy imports that must not pull each other in.

spaCy's thinc imports torch whenever torch is installed (about 5 s of a cold ``newsrag ask``), although
the English pipeline runs on numpy. ``without_torch`` imports a module with torch hidden, so thinc
records that it has none; ``torch`` is the one way our code imports torch (the ONNX export, the torch
encoder). Both hold one lock, so no thread can meet the hidden torch while another imports it.
"""

from __future__ import annotations

import importlib
import sys
import threading
from types import ModuleType

_lock = threading.RLock()


def without_torch(name: str) -> ModuleType:
    """``import name`` with torch hidden, unless torch is already loaded (then as usual)."""
    with _lock:
        if "torch" in sys.modules:
            return importlib.import_module(name)
        sys.modules["torch"] = None  # type: ignore[assignment]  # what `import torch` then raises: ImportError
        try:
            return importlib.import_module(name)
        finally:
            if "torch" in sys.modules and sys.modules["torch"] is None:
                del sys.modules["torch"]


def torch() -> ModuleType:
    """``import torch``, never while a ``without_torch`` import runs."""
    with _lock:
        return importlib.import_module("torch")
