"""A local HTTP service for claim look-ups: one index loaded once, JSON endpoints.

    pip install "claimcluster[serve]"
    claimcluster serve claims-index/ --port 8000

Endpoints (JSON in, JSON out):

- ``GET /health``: ``{"status": "ok", "claims": n, "model_id": ..., "backend": ...}``
- ``POST /match`` with ``{"text": "...", "k": 5, "min_score": "auto", "assess": false}``:
  ``{"query": ..., "matches": [...]}``, each match as ``claimcluster match --json`` gives it.
- ``POST /match/batch`` with ``{"texts": [...], ...}`` (at most :data:`MAX_BATCH`): ``{"results":
  [{"query": ..., "matches": [...]}, ...]}`` — the texts are embedded together, which is where
  the throughput of a batch comes from.

Bad input (blank text, k < 1, a min_score that is not a number, "auto" or null — ``true`` is not a
number —, a text longer than :data:`MAX_TEXT_CHARS`, too many texts) is answered 422 with
``{"detail": ...}``; so is a text that is not valid Unicode (a lone surrogate), never with a server error.
The handlers are plain functions, so the server runs them on its worker threads;
:class:`~claimcluster.index.ClaimIndex` searches take its read lock and the ONNX encoder is thread-safe, so
requests run side by side. The index is read-only here: rebuild it and
restart the service to change it.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the request models from the
# handlers' annotations, and those models are local to create_app (pydantic is an extra).
import logging
import socket
from typing import TYPE_CHECKING, Annotated, Literal

from claimcluster._validate import scrub_surrogates
from claimcluster._version import __version__
from claimcluster.errors import ClaimClusterError, InputError

if TYPE_CHECKING:
    from claimcluster.index import ClaimIndex

__all__ = ["create_app", "run", "MAX_BATCH"]

MAX_BATCH = 1024
"""Texts one ``/match/batch`` request may hold."""
MAX_TEXT_CHARS = 20_000
"""Characters one text may have (a claim look-up reads a sentence or a post, not a book)."""

log = logging.getLogger(__name__)


def create_app(index: "ClaimIndex"):
    """A FastAPI application answering look-ups against ``index``."""
    try:
        from fastapi import FastAPI, HTTPException
        from fastapi.encoders import jsonable_encoder
        from fastapi.exceptions import RequestValidationError
        from fastapi.responses import JSONResponse
        from pydantic import BaseModel, Field, StrictBool, StrictFloat, StrictInt
    except ImportError as exc:
        raise ClaimClusterError('the service needs its extra: pip install "claimcluster[serve]"') from exc


    Text = Annotated[str, Field(max_length=MAX_TEXT_CHARS)]

    class Options(BaseModel):
        # strict: true is not 1 or 1.0, "yes" is not true
        k: StrictInt = Field(5, ge=1, le=1000)
        min_score: StrictFloat | Literal["auto"] | None = "auto"
        assess: StrictBool = False

    class One(Options):
        text: Text

    class Many(Options):
        texts: list[Text] = Field(..., max_length=MAX_BATCH)

    app = FastAPI(title="claimcluster", version=__version__,
                  description="Which known claims does a text repeat?")
    embedder = index._embedder()

    @app.exception_handler(RequestValidationError)
    async def invalid(request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own answer echoes the input, which a lone surrogate makes impossible to encode (a 500)
        return JSONResponse(status_code=422, content={"detail": _scrubbed(jsonable_encoder(exc.errors()))})

    def search(texts: list, options: Options) -> list:
        try:
            found = index.search(texts, k=options.k, min_score=options.min_score, assess=options.assess)
        except InputError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from None
        return [{"query": q, "matches": [m.to_json(options.assess) for m in matches]}
                for q, matches in zip(texts, found)]

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "claims": len(index), "model_id": embedder.model_id,
                "backend": embedder.backend_used, "version": __version__}

    @app.post("/match")
    def match(request: One) -> dict:
        return search([request.text], request)[0]

    @app.post("/match/batch")
    def match_batch(request: Many) -> dict:
        return {"results": search(request.texts, request) if request.texts else []}

    return app


def _scrubbed(value):
    """``value`` (JSON-ready) with every string's lone surrogates replaced, so that it encodes as UTF-8."""
    if isinstance(value, str):
        return scrub_surrogates(value)
    if isinstance(value, list):
        return [_scrubbed(v) for v in value]
    if isinstance(value, dict):
        return {_scrubbed(k): _scrubbed(v) for k, v in value.items()}
    return value


def run(index: "ClaimIndex", host: str = "127.0.0.1", port: int = 8000, *, log_level: str = "warning") -> None:
    """Serve ``index`` until interrupted; the first search is made before the port opens, so the
    first request does not pay for loading the model, BM25 and the re-ranker."""
    app = create_app(index)
    try:
        import uvicorn
    except ImportError as exc:
        raise ClaimClusterError('the service needs its extra: pip install "claimcluster[serve]"') from exc
    if len(index):
        index.search(["warm-up query"], k=1)
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it: a reply's head and body go out at once, not the body after the
    # client's delayed acknowledgement of the head (40 ms on Linux).
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        raise ClaimClusterError(f"cannot listen on {host}:{port}: {exc.strerror or exc} (is another server using "
                                "the port? choose another with --port)") from None
    log.info("serving %d claims on http://%s:%d", len(index), host, listener.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, log_level=log_level))
    server.run(sockets=[listener])
