"""Nothing calls home, nothing downloads: the environment every newsrag process runs in.

``OFFLINE_ENV`` is set (where not already set) by every entry point that loads a model or starts a
server (``stay_offline``), and handed to every subprocess a benchmark, the soak or a test starts.
"""

from __future__ import annotations

import os

OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1",
               "GRADIO_ANALYTICS_ENABLED": "False", "GRADIO_RUN_HISTORY": "False",
               "ANONYMIZED_TELEMETRY": "False", "TOKENIZERS_PARALLELISM": "false"}


def stay_offline() -> None:
    """Set ``OFFLINE_ENV`` in this process, keeping any value already set."""
    for name, value in OFFLINE_ENV.items():
        os.environ.setdefault(name, value)
