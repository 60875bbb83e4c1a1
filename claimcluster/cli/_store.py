"""``claimcluster store ...``: a claim base on disk that grows with each batch of articles."""

from __future__ import annotations

from pathlib import Path

import click

from claimcluster.cli._common import (
    ASSESS,
    DIRECTORY,
    JUDGE,
    MIN_SCORE,
    STORE_MODEL,
    cluster_options,
    embedder_or_none,
    field_options,
    floor,
    load,
)


@click.group()
def store() -> None:
    """A claim base on disk that grows with each batch of articles, with stable claim ids."""


def _report_update(report) -> None:
    joined = sum(report.joined.values())
    click.echo(f"{report.documents} documents, {report.sentences} sentences: {joined} joined "
               f"{len(report.joined)} known claims, {len(report.new_claims)} new claims, "
               f"{report.unclustered} unclustered, {len(report.merge_suggestions)} merge suggestions, "
               f"{len(report.rejected)} left out")


@store.command("create")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@field_options
@cluster_options
@click.option("--granularity", type=click.Choice(["claim", "assertion"]), default="claim", show_default=True,
              help="assertion: denials, other figures and swapped roles never join a claim and form claims "
                   "of their own.")
@click.option("--model", default=None, help="sentence-transformers model name or path (default: packaged MiniLM).")
@JUDGE
def store_create(directory, paths, text_field, id_field, outlet_field, date_field, replace_bad_bytes,
                 min_cluster_size, min_samples, min_cohesion, granularity, model, judge):
    """Cluster the documents in PATHS and write a new store in DIRECTORY.

    \b
    Example:
        claimcluster store create claims.store day1/ --min-cluster-size 2
    """
    from claimcluster.embed import DEFAULT_MODEL, Embedder
    from claimcluster.store import ClaimStore

    corpus = load(paths, text_field, id_field, outlet_field, date_field, replace_bad_bytes)
    created = ClaimStore.create(directory, corpus, embedder=Embedder(model or DEFAULT_MODEL),
                                min_cluster_size=min_cluster_size, min_samples=min_samples, min_cohesion=min_cohesion,
                                granularity=granularity, judge="auto" if judge else None)
    click.echo(f"created {directory}: {len(created)} claims from {len(corpus)} documents")


@store.command("update")
@DIRECTORY
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@field_options
@STORE_MODEL
def store_update(directory, paths, text_field, id_field, outlet_field, date_field, replace_bad_bytes, model):
    """Add the documents in PATHS to the store in DIRECTORY; known claims keep their ids.

    \b
    Example:
        claimcluster store update claims.store day2/
    """
    from claimcluster.store import ClaimStore

    corpus = load(paths, text_field, id_field, outlet_field, date_field, replace_bad_bytes)
    opened = ClaimStore.open(directory, embedder=embedder_or_none(model))
    _report_update(opened.update(corpus))


@store.command("match")
@DIRECTORY
@click.argument("text")
@click.option("-k", "k", type=click.IntRange(min=1), default=5, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@STORE_MODEL
@MIN_SCORE
@ASSESS
def store_match(directory, text, k, as_json, model, min_score, assess):
    """Which known claims of the store in DIRECTORY does TEXT repeat?

    \b
    Example:
        claimcluster store match claims.store "Moscow denies its soldiers died in Syria"
    """
    import json

    from claimcluster.store import ClaimStore

    matches = ClaimStore.open(directory, embedder=embedder_or_none(model)).match(
        text, k=k, min_score=floor(min_score), assess=assess)[0]
    if as_json:
        click.echo(json.dumps({"query": text, "matches": [m.to_json(assess=True) for m in matches]},
                              ensure_ascii=False))
        return
    from claimcluster.report import render_matches

    click.echo(render_matches(text, matches), nl=False)


@store.command("show")
@DIRECTORY
@click.option("--claim", "claim_id", type=int, default=None, help="Show one claim with its timeline.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown", "html"]), default="text",
              show_default=True)
@click.option("--max-claims", type=click.IntRange(min=1), default=20, show_default=True)
@STORE_MODEL
def store_show(directory, claim_id, fmt, max_claims, model):
    """Show the claims of the store in DIRECTORY (or one claim's members and timeline).

    \b
    Example:
        claimcluster store show claims.store --claim 3
    """
    import json

    from claimcluster.claims import ClaimSet
    from claimcluster.report import render_html, render_markdown, render_text, render_timeline
    from claimcluster.store import ClaimStore

    opened = ClaimStore.open(directory, embedder=embedder_or_none(model))
    if claim_id is not None:
        claim = opened.claim(claim_id)
        if fmt == "json":
            click.echo(json.dumps({**claim.to_dict(), **opened.spread(claim_id),
                                   "timeline": opened.timeline(claim_id)}, ensure_ascii=False, indent=2))
            return
        click.echo(render_timeline(claim, opened.spread(claim_id), opened.timeline(claim_id)), nl=False)
        return
    if fmt == "text":
        counts = opened.counts()
        rejected, warnings = opened.left_out()
        top = ClaimSet(claims=opened.claims(limit=max_claims), unclustered=[], n_documents=counts["documents"],
                       model_id=opened.model_id, parameters=opened.settings.to_dict(), rejected=rejected,
                       warnings=warnings)
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
@DIRECTORY
@STORE_MODEL
def store_check(directory, model):
    """Check every record and vector of the store in DIRECTORY (exit 2 on damage).

    \b
    Example:
        claimcluster store check claims.store
    """
    from claimcluster.store import ClaimStore

    counts = ClaimStore.open(directory, embedder=embedder_or_none(model)).verify()
    click.echo(f"{directory}: ok ({counts['sentences']} sentences, {counts['claims']} claims, "
               f"{counts['segments']} vector segments)")


@store.command("compact")
@DIRECTORY
@STORE_MODEL
def store_compact(directory, model):
    """Merge the vector segments of the store in DIRECTORY into one.

    \b
    Example:
        claimcluster store compact claims.store
    """
    from claimcluster.store import ClaimStore

    opened = ClaimStore.open(directory, embedder=embedder_or_none(model))
    before = opened.n_segments
    merged = opened.compact()
    click.echo(f"{directory}: {before} vector segments merged into 1" if merged
               else f"{directory}: {before} vector segment(s), nothing to merge")


@store.command("migrate")
@DIRECTORY
@STORE_MODEL
def store_migrate(directory, model):
    """Rewrite a store written by an earlier claimcluster (format 2) in the current format, in place.

    \b
    Example:
        claimcluster store migrate claims.store
    """
    from claimcluster.store import ClaimStore

    migrated = ClaimStore.migrate(directory, embedder=embedder_or_none(model))
    click.echo(f"{directory}: {len(migrated)} claims, {migrated.n_sentences} sentences in the current format")


