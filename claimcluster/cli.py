"""Command line: a thin click adapter over the library (the library never imports click)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Literal

import click

from claimcluster.cluster import DEFAULT_MIN_CLUSTER_SIZE, DEFAULT_MIN_COHESION, DEFAULT_MIN_SAMPLES
from claimcluster.errors import ClaimClusterError

__all__ = ["main"]


DEBUG_ENV = "CLAIMCLUSTER_DEBUG"
"""Set to 1 to see the traceback of an unexpected error instead of its one-line message."""


class _Group(click.Group):
    """Turns every error into one line on stderr: exit 2 for bad input, files or storage, 1 for a bug."""

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as exc:  # an unknown option of the program itself
            click.echo(f"error: {' '.join(exc.format_message().split())} (see {info_name} --help)", err=True)
            raise click.exceptions.Exit(2) from None

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            command = f"{ctx.command_path} {ctx.invoked_subcommand or ''}".strip()
            _fail(ctx, 2, f"{exc.format_message()} (see {command} --help)")
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except ClaimClusterError as exc:
            _fail(ctx, 2, str(exc))
        except OSError as exc:
            where = f": {exc.filename}" if exc.filename else ""
            _fail(ctx, 2, f"{exc.strerror or exc}{where}")
        except KeyboardInterrupt:
            _fail(ctx, 130, "interrupted")
        except Exception as exc:
            if os.environ.get(DEBUG_ENV) == "1":
                raise
            _fail(ctx, 1, f"unexpected {type(exc).__name__}: {exc} (a bug: please report it; {DEBUG_ENV}=1 shows "
                          "the traceback)")


def _fail(ctx: click.Context, code: int, message: str) -> None:
    click.echo("error: " + " ".join(message.split()), err=True)
    ctx.exit(code)


class _SizeOrAuto(click.ParamType):
    """An integer of at least 2, or "auto"."""

    name = "N|auto"

    def convert(self, value, param, ctx):
        if value == "auto" or isinstance(value, int):
            return value
        try:
            size = int(value)
        except ValueError:
            self.fail(f"{value!r} is neither 'auto' nor an integer", param, ctx)
        if size < 2:
            self.fail(f"{size} is below 2: a claim recurs", param, ctx)
        return size


@click.group(cls=_Group)
@click.version_option(package_name="claimcluster")
@click.option("--quiet", "-q", is_flag=True, help="Only errors on stderr (no progress lines or warnings).")
def main(quiet: bool = False) -> None:
    """Find the same assertion repeated across many news outlets."""
    _log_to_stderr(logging.ERROR if quiet else logging.INFO)


def _log_to_stderr(level: int) -> None:
    """Progress lines and warnings of the library on stderr, one line each (also when stderr is a file)."""
    logger = logging.getLogger("claimcluster")
    logger.setLevel(level)
    if not any(isinstance(h, _StderrLines) for h in logger.handlers):
        logger.addHandler(_StderrLines())


class _StderrLines(logging.Handler):
    """Writes to whatever stderr is now (click swaps it in tests); warnings and errors say so."""

    def emit(self, record: logging.LogRecord) -> None:
        prefix = f"{record.levelname.lower()}: " if record.levelno >= logging.WARNING else ""
        click.echo(prefix + record.getMessage(), err=True)


_JUDGE = click.option("--judge/--no-judge", default=True, show_default=True,
                      help="Read each claim member together with the claim's representative and keep only the same "
                           "assertion or its denials (--no-judge: density clusters as they are; faster, can chain).")


def _field_options(func):
    for option in reversed(
        [
            click.option("--text-field", default="text", show_default=True, help="Field holding the article text."),
            click.option("--id-field", default="id", show_default=True, help="Field holding the document id."),
            click.option("--outlet-field", default="outlet", show_default=True, help="Field naming the outlet."),
            click.option("--date-field", default="published", show_default=True, help="Field with the date."),
            click.option("--replace-bad-bytes", is_flag=True, help="Replace undecodable bytes instead of failing."),
        ]
    ):
        func = option(func)
    return func


def _load(paths, text_field, id_field, outlet_field, date_field, replace_bad_bytes):
    from claimcluster.documents import FieldMap, load_documents

    fields = FieldMap(text=text_field, id=id_field, outlet=outlet_field, published=date_field)
    return load_documents(paths, fields, errors="replace" if replace_bad_bytes else "strict")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@_field_options
@click.option("--format", "fmt", type=click.Choice(["text", "json", "parquet", "html", "markdown"]), default="text",
              show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write here instead of stdout.")
@click.option("--min-cluster-size", type=_SizeOrAuto(), default="auto", show_default=True,
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
@click.option("--max-claims", type=int, default=20, show_default=True, help="Claims shown in text format.")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on in a terminal).")
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help='ray: segment and embed on Ray workers (pip install "claimcluster[ray]"); .jsonl / .parquet files '
                   "are then read on the workers (records need an id).")
@click.option("--address", default=None, help="Ray cluster address (default: start a local one).")
@_JUDGE
def cluster(paths, text_field, id_field, outlet_field, date_field, replace_bad_bytes, fmt, out, min_cluster_size,
            min_samples, min_cohesion, granularity, model, cache, max_claims, progress, engine, address, judge):
    """Cluster the sentences of PATHS (directories of .txt, .jsonl, .csv, .tsv) into claims.

    \b
    Example:
        claimcluster cluster seeds/ --min-cluster-size 2
        claimcluster cluster seeds/ --min-cluster-size 2 --granularity assertion
        claimcluster cluster articles.jsonl --text-field body --outlet-field site --format html --out claims.html
    """
    from claimcluster.embed import DEFAULT_MODEL, Embedder
    from claimcluster.pipeline import cluster_documents
    from claimcluster.report import render_html, render_markdown, render_text

    if fmt == "parquet" and out is None:
        raise click.UsageError("--format parquet needs --out FILE")
    if out is not None and not out.parent.is_dir():
        raise click.UsageError(f"--out {out}: no directory {out.parent}")
    embedder = Embedder(model or DEFAULT_MODEL, cache=cache)
    options = {"embedder": embedder, "min_cluster_size": min_cluster_size, "min_samples": min_samples,
               "min_cohesion": min_cohesion, "granularity": granularity, "show_progress_bar": progress,
               "judge": "auto" if judge else None}
    shards = all(p.is_file() and p.name.endswith((".jsonl", ".parquet")) for p in paths) and not replace_bad_bytes
    if engine == "ray" and shards:
        from claimcluster import _ray
        from claimcluster.documents import FieldMap

        fields = FieldMap(text=text_field, id=id_field, outlet=outlet_field, published=date_field)
        with _ray.session(address):
            claims = cluster_documents(_ray.ray_documents([str(p) for p in paths], fields), engine="ray", **options)
    else:
        corpus = _load(paths, text_field, id_field, outlet_field, date_field, replace_bad_bytes)
        claims = cluster_documents(corpus, engine=engine, ray_address=address, **options)
    if fmt == "parquet":
        if out is None:
            raise click.UsageError("--format parquet needs --out FILE")
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
    from claimcluster.documents import FieldMap, load_documents
    from claimcluster.embed import DEFAULT_MODEL, Embedder
    from claimcluster.index import ClaimIndex

    corpus = load_documents([file], FieldMap(text=text_field, id=id_field, outlet=None, published=None, url=None,
                                             title=extra_text_field))
    for rejection in corpus.rejected:
        click.echo(f"skipped {rejection.where}: {rejection.reason}", err=True)
    docs = corpus.documents
    built = ClaimIndex(Embedder(model or DEFAULT_MODEL, cache=cache), factory=factory)
    built.add([d.text for d in docs], ids=[d.doc_id for d in docs], extra_texts=[d.title or "" for d in docs],
              metadata=[dict(d.metadata) for d in docs])
    built.save(out)
    click.echo(f"indexed {len(built)} claims into {out} ({len(corpus.rejected)} skipped)", err=True)


def _relation(m) -> str:
    """"  repeats, same assertion", "  denies (polarity)", ... for a match that was assessed, else ""."""
    if m.stance is None:
        return ""
    return (f"  {m.stance}" + (f" ({', '.join(m.conflicts)})" if m.conflicts else "")
            + (", same assertion" if m.same_assertion else ""))


def _match_lines(query: str, matches) -> list[str]:
    lines = [f"query: {query}"]
    if not matches:
        lines.append("  no known claim")
    for m in matches:
        lines.append(f"  {m.rank}. [{m.id}] {m.score:.3f}{_relation(m)}  {m.text}")
    return lines


_DIRECTORY = click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
_STORE_MODEL = click.option("--model", default=None, help="Model the store was built with (default: packaged MiniLM).")
_ASSESS = click.option("--assess/--no-assess", default=True, show_default=True,
                       help="Give the query's stance toward each match and the assertion rules they break "
                            "(other figures, opposite polarity, swapped roles).")
_MIN_SCORE = click.option("--min-score", default="auto", show_default=True,
                          help="Drop matches scoring below this; 'auto' = calibrated no-match threshold, "
                               "'none' = keep all.")


@main.command()
@_DIRECTORY
@click.argument("text", required=False)
@click.option("--queries", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="JSONL/CSV of queries.")
@click.option("--text-field", default="text", show_default=True, help="Query text field in --queries.")
@click.option("-k", "k", type=click.IntRange(min=1), default=5, show_default=True)
@_MIN_SCORE
@click.option("--json", "as_json", is_flag=True, help="One JSON object per query.")
@click.option("--model", default=None, help="Model the index was built with (default: packaged MiniLM).")
@_ASSESS
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

    if (text is None) == (queries is None):
        raise click.UsageError("give either TEXT or --queries FILE")
    floor = _floor(min_score)
    if queries is not None:
        corpus = load_documents([queries], FieldMap(text=text_field, id=None))
        for rejection in corpus.rejected:
            click.echo(f"skipped {rejection.where}: {rejection.reason}", err=True)
        texts = [d.text for d in corpus.documents]
    else:
        texts = [text]
    loaded = ClaimIndex.load(directory, _embedder_or_none(model))
    results = loaded.search(texts, k=k, min_score=floor, assess=assess)
    for query, matches in zip(texts, results):
        if as_json:
            click.echo(json.dumps({"query": query, "matches": [m.to_json(assess) for m in matches]},
                                  ensure_ascii=False))
        else:
            click.echo("\n".join(_match_lines(query, matches)))


@main.command()
@_DIRECTORY
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

    loaded = ClaimIndex.load(directory, _embedder_or_none(model))
    click.echo(f"serving {len(loaded)} claims from {directory} on http://{host}:{port}", err=True)
    run(loaded, host, port)


@main.group()
def store() -> None:
    """A claim base on disk that grows with each batch of articles, with stable claim ids."""


def _cluster_options(func):
    for option in reversed(
        [
            click.option("--min-cluster-size", type=click.IntRange(min=2), default=DEFAULT_MIN_CLUSTER_SIZE,
                         show_default=True),
            click.option("--min-samples", type=click.IntRange(min=1), default=DEFAULT_MIN_SAMPLES, show_default=True),
            click.option("--min-cohesion", type=click.FloatRange(0, 1), default=None,
                         help=f"default: the model's ({DEFAULT_MIN_COHESION} for MiniLM)"),
        ]
    ):
        func = option(func)
    return func


def _report_update(report) -> None:
    joined = sum(report.joined.values())
    click.echo(f"{report.documents} documents, {report.sentences} sentences: {joined} joined "
               f"{len(report.joined)} known claims, {len(report.new_claims)} new claims, "
               f"{report.unclustered} unclustered, {len(report.merge_suggestions)} merge suggestions, "
               f"{len(report.rejected)} left out")


@store.command("create")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@_field_options
@_cluster_options
@click.option("--granularity", type=click.Choice(["claim", "assertion"]), default="claim", show_default=True,
              help="assertion: denials, other figures and swapped roles never join a claim and form claims "
                   "of their own.")
@click.option("--model", default=None, help="sentence-transformers model name or path (default: packaged MiniLM).")
@_JUDGE
def store_create(directory, paths, text_field, id_field, outlet_field, date_field, replace_bad_bytes,
                 min_cluster_size, min_samples, min_cohesion, granularity, model, judge):
    """Cluster the documents in PATHS and write a new store in DIRECTORY.

    \b
    Example:
        claimcluster store create claims.store day1/ --min-cluster-size 2
    """
    from claimcluster.embed import DEFAULT_MODEL, Embedder
    from claimcluster.store import ClaimStore

    corpus = _load(paths, text_field, id_field, outlet_field, date_field, replace_bad_bytes)
    created = ClaimStore.create(directory, corpus, embedder=Embedder(model or DEFAULT_MODEL),
                                min_cluster_size=min_cluster_size, min_samples=min_samples, min_cohesion=min_cohesion,
                                granularity=granularity, judge="auto" if judge else None)
    click.echo(f"created {directory}: {len(created)} claims from {len(corpus)} documents")


@store.command("update")
@_DIRECTORY
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@_field_options
@_STORE_MODEL
def store_update(directory, paths, text_field, id_field, outlet_field, date_field, replace_bad_bytes, model):
    """Add the documents in PATHS to the store in DIRECTORY; known claims keep their ids.

    \b
    Example:
        claimcluster store update claims.store day2/
    """
    from claimcluster.store import ClaimStore

    corpus = _load(paths, text_field, id_field, outlet_field, date_field, replace_bad_bytes)
    opened = ClaimStore.open(directory, embedder=_embedder_or_none(model))
    _report_update(opened.update(corpus))


@store.command("match")
@_DIRECTORY
@click.argument("text")
@click.option("-k", "k", type=click.IntRange(min=1), default=5, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@_STORE_MODEL
@_MIN_SCORE
@_ASSESS
def store_match(directory, text, k, as_json, model, min_score, assess):
    """Which known claims of the store in DIRECTORY does TEXT repeat?

    \b
    Example:
        claimcluster store match claims.store "Moscow denies its soldiers died in Syria"
    """
    import json
    from dataclasses import asdict

    from claimcluster.store import ClaimStore

    matches = ClaimStore.open(directory, embedder=_embedder_or_none(model)).match(
        text, k=k, min_score=_floor(min_score), assess=assess)[0]
    if as_json:
        click.echo(json.dumps({"query": text, "matches": [asdict(m) for m in matches]}, ensure_ascii=False))
        return
    click.echo(f"query: {text}")
    if not matches:
        click.echo("  no known claim")
    for m in matches:
        click.echo(f"  {m.rank}. claim {m.claim_id} ({m.score:.3f}){_relation(m)}: {m.representative}\n"
                   f"       via [{m.matched_doc_id}] {m.matched_text}")


@store.command("show")
@_DIRECTORY
@click.option("--claim", "claim_id", type=int, default=None, help="Show one claim with its timeline.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown", "html"]), default="text",
              show_default=True)
@click.option("--max-claims", type=click.IntRange(min=1), default=20, show_default=True)
@_STORE_MODEL
def store_show(directory, claim_id, fmt, max_claims, model):
    """Show the claims of the store in DIRECTORY (or one claim's members and timeline).

    \b
    Example:
        claimcluster store show claims.store --claim 3
    """
    import json

    from claimcluster.claims import ClaimSet
    from claimcluster.report import render_html, render_markdown, render_text
    from claimcluster.store import ClaimStore

    opened = ClaimStore.open(directory, embedder=_embedder_or_none(model))
    if claim_id is not None:
        claim = opened.claim(claim_id)
        if fmt == "json":
            click.echo(json.dumps({**claim.to_dict(), **opened.spread(claim_id),
                                   "timeline": opened.timeline(claim_id)}, ensure_ascii=False, indent=2))
            return
        spread = opened.spread(claim_id)
        click.echo(f"claim {claim.id}: {claim.representative.text}")
        click.echo(f"  first seen {spread['first_seen']} in {spread['first_outlet']}; last seen {spread['last_seen']}; "
                   f"{len(spread['outlets'])} outlets")
        for entry in opened.timeline(claim_id):
            mark = "*" if entry["first_for_outlet"] else " "
            click.echo(f"  {mark} {entry['when']:<12} [{entry['doc_id']}] {entry['text']}")
        return
    if fmt == "text":
        counts = opened.counts()
        top = ClaimSet(claims=opened.claims(limit=max_claims), unclustered=[], n_documents=counts["documents"],
                       model_id=opened.model_id, parameters=dict(opened.settings))
        click.echo(render_text(top, max_claims=max_claims, totals=(counts["claims"], counts["sentences"],
                                                                    counts["unclustered"])), nl=False)
        for suggestion in opened.merge_suggestions:
            click.echo(f"merge suggestion: claims {suggestion['claims']} (new evidence: sentence "
                       f"{suggestion['sentence']})")
        return
    claims = opened.claim_set()
    if fmt == "json":
        data = claims.to_dict()
        data["merge_suggestions"] = opened.merge_suggestions
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    elif fmt == "markdown":
        click.echo(render_markdown(claims), nl=False)
    else:
        click.echo(render_html(claims, title=f"claims in {directory}"), nl=False)


@store.command("check")
@_DIRECTORY
@_STORE_MODEL
def store_check(directory, model):
    """Check every record and vector of the store in DIRECTORY (exit 2 on damage).

    \b
    Example:
        claimcluster store check claims.store
    """
    from claimcluster.store import ClaimStore

    counts = ClaimStore.open(directory, embedder=_embedder_or_none(model)).verify()
    click.echo(f"{directory}: ok ({counts['sentences']} sentences, {counts['claims']} claims, "
               f"{counts['segments']} vector segments)")


@store.command("compact")
@_DIRECTORY
@_STORE_MODEL
def store_compact(directory, model):
    """Merge the vector segments of the store in DIRECTORY into one.

    \b
    Example:
        claimcluster store compact claims.store
    """
    from claimcluster.store import ClaimStore

    opened = ClaimStore.open(directory, embedder=_embedder_or_none(model))
    before = opened.n_segments
    merged = opened.compact()
    click.echo(f"{directory}: {before} vector segments merged into 1" if merged
               else f"{directory}: {before} vector segment(s), nothing to merge")


@store.command("migrate")
@_DIRECTORY
@_STORE_MODEL
def store_migrate(directory, model):
    """Rewrite a store written by an earlier claimcluster (format 2) in the current format, in place.

    \b
    Example:
        claimcluster store migrate claims.store
    """
    from claimcluster.store import ClaimStore

    migrated = ClaimStore.migrate(directory, embedder=_embedder_or_none(model))
    click.echo(f"{directory}: {len(migrated)} claims, {migrated.n_sentences} sentences in the current format")


def _embedder_or_none(model: str | None):
    """``--model`` of a command that opens a saved index or store: None lets it use the model it was built with."""
    from claimcluster.embed import Embedder

    return Embedder(model) if model else None


def _floor(value: str) -> float | Literal["auto"] | None:
    """The ``min_score`` of a --min-score value: a number, "auto" or "none" (keep every match)."""
    if value in ("auto", "none"):
        return None if value == "none" else "auto"
    try:
        return float(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a number, 'auto' or 'none'", param_hint="--min-score") from None


def run() -> None:  # pragma: no cover - console entry used by python -m
    main(prog_name="claimcluster")


if __name__ == "__main__":  # pragma: no cover
    run()
