"""Command line: a thin click adapter over the library (the library never imports click).

Each command parses its options, calls the library, and prints what the library renders
(:mod:`claimcluster.report`); :class:`~claimcluster.cli._common.Group` turns every error into one line
and an exit code.
"""

from __future__ import annotations

import logging
from pathlib import Path

import click

from claimcluster.cli._common import (
    ASSESS,
    DIRECTORY,
    JUDGE,
    MIN_SCORE,
    Group,
    SizeOrAuto,
    check_out,
    embedder_or_none,
    field_options,
    floor,
    log_to_stderr,
)
from claimcluster.cli._store import store
from claimcluster.cluster import DEFAULT_MIN_SAMPLES
from claimcluster.models import DEFAULT_MIN_COHESION

__all__ = ["main"]


@click.group(cls=Group)
@click.version_option(package_name="claimcluster")
@click.option("--quiet", "-q", is_flag=True, help="Only errors on stderr (no progress lines or warnings).")
def main(quiet: bool = False) -> None:
    """Find the same assertion repeated across many news outlets."""
    log_to_stderr(logging.ERROR if quiet else logging.INFO)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@field_options
@click.option("--format", "fmt", type=click.Choice(["text", "json", "parquet", "html", "markdown"]), default="text",
              show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write here instead of stdout.")
@click.option("--min-cluster-size", type=SizeOrAuto(), default="auto", show_default=True,
              help="Fewest sentences that make a claim: N >= 2, or auto (2 under 150 documents, 3 under 400, else 4).")
@click.option("--min-samples", type=click.IntRange(min=1), default=DEFAULT_MIN_SAMPLES, show_default=True)
@click.option("--min-cohesion", type=click.FloatRange(0, 1), default=None,
              help=f"Least mean similarity of a claim's members (default: the model's; {DEFAULT_MIN_COHESION} for "
                   "MiniLM).")
@click.option("--granularity", type=click.Choice(["claim", "assertion"]), default="claim", show_default=True,
              help="claim: members labelled by stance toward the representative; assertion: denials and other "
                   "figures split off as claims of their own.")
@click.option("--model", default=None, help="sentence-transformers model name or path (default: packaged MiniLM).")
@click.option("--cache", type=click.Path(dir_okay=False, path_type=Path), help="SQLite embedding cache file.")
@click.option("--max-claims", type=click.IntRange(min=1), default=20, show_default=True,
              help="Claims shown in text format.")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on in a terminal).")
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help='ray: segment and embed on Ray workers (pip install "claimcluster[ray]"); .jsonl / .parquet files '
                   "are then read on the workers (records need an id).")
@click.option("--address", default=None, help="Ray cluster address (default: start a local one).")
@JUDGE
def cluster(paths, text_field, id_field, outlet_field, date_field, replace_bad_bytes, fmt, out, min_cluster_size,
            min_samples, min_cohesion, granularity, model, cache, max_claims, progress, engine, address, judge):
    """Cluster the sentences of PATHS (directories of .txt, .jsonl, .csv, .tsv, and crawled pages: .html, .htm,
    .warc, .warc.gz with pip install "claimcluster[web]") into claims.

    \b
    Example:
        claimcluster cluster seeds/ --min-cluster-size 2
        claimcluster cluster seeds/ --min-cluster-size 2 --granularity assertion
        claimcluster cluster articles.jsonl --text-field body --outlet-field site --format html --out claims.html
        claimcluster cluster crawl.warc.gz --format html --out claims.html
    """
    from claimcluster.documents import FieldMap
    from claimcluster.embed import DEFAULT_MODEL, Embedder
    from claimcluster.pipeline import cluster_files
    from claimcluster.report import render_html, render_markdown, render_text

    if fmt == "parquet" and out is None:
        raise click.UsageError("--format parquet needs --out FILE")
    if out is not None and not out.parent.is_dir():
        raise click.UsageError(f"--out {out}: no directory {out.parent}")
    check_out(out, paths)
    embedder = Embedder(model or DEFAULT_MODEL, cache=cache)
    options = {"embedder": embedder, "min_cluster_size": min_cluster_size, "min_samples": min_samples,
               "min_cohesion": min_cohesion, "granularity": granularity, "show_progress_bar": progress,
               "judge": "auto" if judge else None}
    fields = FieldMap(text=text_field, id=id_field, outlet=outlet_field, published=date_field)
    claims = cluster_files(paths, fields, errors="replace" if replace_bad_bytes else "strict", engine=engine,
                           ray_address=address, **options)
    if fmt == "parquet":  # --out checked above
        claims.to_parquet(out)
        click.echo(f"wrote {len(claims.claims)} claims to {out}", err=True)
        return
    text = {
        "text": lambda: render_text(claims, max_claims=max_claims),
        "json": lambda: claims.to_json() + "\n",
        "html": lambda: render_html(claims),
        "markdown": lambda: render_markdown(claims),
    }[fmt]()
    if out is None:
        click.echo(text, nl=False)
    else:
        from claimcluster._files import atomic_write_text

        atomic_write_text(out, text)
        click.echo(f"wrote {len(claims.claims)} claims to {out}", err=True)


@main.group()
def index() -> None:
    """Build a searchable index of known claims."""


@index.command("build")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--id-field", required=True, help="Field holding each claim's id.")
@click.option("--text-field", required=True, help="Field holding the claim text.")
@click.option("--extra-text-field", default=None, help="Field with more text (e.g. a fact-check title).")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Index directory.")
@click.option("--factory", default="Flat", show_default=True, help="FAISS factory string (Flat, HNSW32, IVF4096,SQ8).")
@click.option("--model", default=None, help="sentence-transformers model name or path (default: packaged MiniLM).")
@click.option("--cache", type=click.Path(dir_okay=False, path_type=Path), help="SQLite embedding cache file.")
def index_build(file, id_field, text_field, extra_text_field, out, factory, model, cache):
    """Index the claims in FILE (.jsonl, .csv or .tsv) into directory --out.

    \b
    Example:
        claimcluster index build vclaims.jsonl --id-field vclaim_id --text-field vclaim \\
            --extra-text-field title --out claims-index/
    """
    from claimcluster._persist import check_writable
    from claimcluster.documents import FieldMap, load_documents
    from claimcluster.embed import DEFAULT_MODEL, Embedder
    from claimcluster.errors import InputError
    from claimcluster.index import ClaimIndex

    check_writable(out, "claim-index")  # before any embedding
    corpus = load_documents([file], FieldMap(text=text_field, id=id_field, outlet=None, published=None, url=None,
                                             title=extra_text_field), require_id=True)
    for rejection in corpus.rejected:
        click.echo(f"skipped {rejection.where}: {rejection.reason}", err=True)
    docs = corpus.documents
    if not docs:
        first = f" (the first: {corpus.rejected[0].where}: {corpus.rejected[0].reason})" if corpus.rejected else ""
        raise InputError(f"no claims to index in {file}: every record was skipped{first}; check --text-field "
                         f"{text_field!r} and --id-field {id_field!r}")
    built = ClaimIndex(Embedder(model or DEFAULT_MODEL, cache=cache), factory=factory)
    built.add([d.text for d in docs], ids=[d.doc_id for d in docs], extra_texts=[d.title or "" for d in docs],
              metadata=[dict(d.metadata) for d in docs])
    built.save(out)
    click.echo(f"indexed {len(built)} claims into {out} ({len(corpus.rejected)} skipped)", err=True)


@main.command()
@DIRECTORY
@click.argument("text", required=False)
@click.option("--queries", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="JSONL/CSV of queries.")
@click.option("--text-field", default="text", show_default=True, help="Query text field in --queries.")
@click.option("-k", "k", type=click.IntRange(min=1), default=5, show_default=True)
@MIN_SCORE
@click.option("--json", "as_json", is_flag=True, help="One JSON object per query.")
@click.option("--model", default=None, help="Model the index was built with (default: packaged MiniLM).")
@ASSESS
def match(directory, text, queries, text_field, k, min_score, as_json, model, assess):
    """Find which known claims TEXT (or each query in --queries) repeats.

    \b
    Example:
        claimcluster match claims-index/ "Army is not contacting anyone about a draft"
        claimcluster match claims-index/ --queries tweets.jsonl --text-field text --json
    """
    import json

    from claimcluster.documents import FieldMap, load_documents
    from claimcluster.index import ClaimIndex
    from claimcluster.report import render_matches

    if (text is None) == (queries is None):
        raise click.UsageError("give either TEXT or --queries FILE")
    threshold = floor(min_score)
    if queries is not None:
        corpus = load_documents([queries], FieldMap(text=text_field, id=None))
        for rejection in corpus.rejected:
            click.echo(f"skipped {rejection.where}: {rejection.reason}", err=True)
        texts = [d.text for d in corpus.documents]
    else:
        texts = [text]
    loaded = ClaimIndex.load(directory, embedder_or_none(model))
    results = loaded.search(texts, k=k, min_score=threshold, assess=assess)
    for query, matches in zip(texts, results):
        if as_json:
            click.echo(json.dumps({"query": query, "matches": [m.to_json(assess) for m in matches]},
                                  ensure_ascii=False))
        else:
            click.echo(render_matches(query, matches), nl=False)


@main.command()
@DIRECTORY
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--model", default=None, help="Model the index was built with (default: the one it names).")
def serve(directory, host, port, model):
    """Answer claim look-ups over HTTP from the index in DIRECTORY (needs claimcluster[serve]).

    \b
    Endpoints: GET /health, POST /match {"text": ...}, POST /match/batch {"texts": [...]},
    both with optional "k", "min_score" ("auto", a number or null) and "assess".
    Example:
        claimcluster serve claims-index/ --port 8000
        curl -s localhost:8000/match -H 'content-type: application/json' \\
            -d '{"text": "Army is not contacting anyone about a draft"}'
    """
    from claimcluster.index import ClaimIndex
    from claimcluster.serve import run

    run(ClaimIndex.load(directory, embedder_or_none(model)), host, port)  # says "serving ..." once it listens



main.add_command(store)


def run() -> None:  # pragma: no cover - console entry used by python -m
    main(prog_name="claimcluster")


if __name__ == "__main__":  # pragma: no cover
    run()
