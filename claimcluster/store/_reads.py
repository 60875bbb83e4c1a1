"""Every read of a store's records: the SQL that claims, unclustered sentences, counts, timelines and the
in-memory state of updates and matching need, each row turned into a named record (:class:`Member`,
:class:`Claim`, :class:`~claimcluster.store._update.Work`) here and nowhere else. Writes are in
:mod:`claimcluster.store._records`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from claimcluster.claims import Claim, Member
from claimcluster.documents import Rejection
from claimcluster.errors import StorageError
from claimcluster.store._records import Records
from claimcluster.store._update import Work

_MEMBER_COLUMNS = ('s.row, s.doc_id, s.position, s.text, s.start, s."end", d.outlet, d.published, m.similarity, '
                   'm.stance, m.stance_score, s.language')
_CLAIM_ORDER = "n_outlets DESC, n_documents DESC, size DESC, id"


def claims(records: Records, claim_ids: Sequence[int] | None, *, limit: int | None = None) -> list[Claim]:
    """The claims of ``claim_ids`` (all of them for None, or the first ``limit`` in spread order), read in one
    snapshot."""
    heads_sql = "SELECT id, representative, cohesion FROM claims"
    rows_sql = (f"SELECT m.claim, {_MEMBER_COLUMNS} FROM members m JOIN sentences s ON s.row = m.row "
                "JOIN documents d ON d.doc_id = s.doc_id{where} ORDER BY m.claim, s.doc_id, s.position")
    with records.snapshot():
        if limit is not None:
            claim_ids = [cid for (cid,) in records.query(f"SELECT id FROM claims ORDER BY {_CLAIM_ORDER} LIMIT ?",
                                                         (limit,))]
        if claim_ids is None:
            head_rows = records.query(heads_sql)
            rows = records.query(rows_sql.format(where=""))
        else:
            head_rows = records.query_in(heads_sql + " WHERE id IN ({in})", claim_ids)
            # Each claim's members come from one chunk, so they stay in document order.
            rows = records.query_in(rows_sql.format(where=" WHERE m.claim IN ({in})"), claim_ids)
    heads = {cid: (rep, cohesion) for cid, rep, cohesion in head_rows}
    members: dict[int, list[tuple[int, Member]]] = {}
    for cid, row, doc_id, position, text, start, end, outlet, published, similarity, stance, score, lang in rows:
        members.setdefault(cid, []).append(
            (row, Member(doc_id, text, start, end, position, outlet, published, similarity, 1.0, stance, score, lang)))
    out = []
    for cid, group in members.items():
        rep_row, cohesion = heads[cid]
        representative = next(m for row, m in group if row == rep_row)
        out.append(Claim(cid, representative, tuple(m for _, m in group), cohesion))
    return out


def unclustered(records: Records) -> list[Member]:
    """Sentences in no claim, in row order."""
    rows = records.query(
        'SELECT s.row, s.doc_id, s.position, s.text, s.start, s."end", d.outlet, d.published, s.language '
        "FROM sentences s JOIN documents d ON d.doc_id = s.doc_id "
        "WHERE NOT EXISTS (SELECT 1 FROM members m WHERE m.row = s.row) ORDER BY s.row")
    return [Member(doc_id, text, start, end, position, outlet, published, None, 0.0, language=language)
            for _, doc_id, position, text, start, end, outlet, published, language in rows]


def counts(records: Records) -> dict[str, int]:
    """Claims, sentences, unclustered sentences, documents, merge suggestions and vector segments."""
    (claims, sentences, members, documents, merges, segments), = records.query(
        "SELECT (SELECT COUNT(*) FROM claims), (SELECT COUNT(*) FROM sentences), (SELECT COUNT(*) FROM members), "
        "(SELECT COUNT(*) FROM documents), (SELECT COUNT(*) FROM merges), (SELECT COUNT(*) FROM segments)")
    return {"claims": claims, "sentences": sentences, "unclustered": sentences - members, "documents": documents,
            "merge_suggestions": merges, "segments": segments}


def merge_suggestions(records: Records) -> list[dict]:
    return [{"claims": json.loads(claims), "sentence": sentence}
            for claims, sentence in records.query("SELECT claims, sentence FROM merges ORDER BY id")]


def batches(records: Records, doc_ids: Sequence[str]) -> dict[str, int]:
    """The update batch each document came in with."""
    return dict(records.query_in("SELECT doc_id, batch FROM documents WHERE doc_id IN ({in})", doc_ids))


def next_batch(records: Records) -> int:
    return int(records.query("SELECT COALESCE(MAX(batch) + 1, 0) FROM documents")[0][0])


def left_out(records: Records) -> tuple[list[Rejection], int]:
    """What the updates left out, in order, and the first batch whose leavings were recorded (a store written
    by an earlier claimcluster kept none: its next batch, until an update records them)."""
    with records.snapshot():
        if not records.query("SELECT 1 FROM sqlite_master WHERE name = 'left_out'"):
            return [], next_batch(records)
        rows = records.query('SELECT "where", reason, text FROM left_out ORDER BY id')
        since = records.meta().get("left_out_from", 0)
    return [Rejection(where, reason, text) for where, reason, text in rows], int(since)


def known_doc_ids(records: Records, ids: Sequence[str]) -> set[str]:
    return {r[0] for r in records.query_in("SELECT doc_id FROM documents WHERE doc_id IN ({in})", ids)}


def sources(records: Records, rows: Sequence[int]) -> dict[int, tuple[str, str | None]]:
    """(doc_id, outlet) of stored sentence rows."""
    return {row: (doc_id, outlet) for row, doc_id, outlet in records.query_in(
        "SELECT s.row, s.doc_id, d.outlet FROM sentences s JOIN documents d ON d.doc_id = s.doc_id "
        "WHERE s.row IN ({in})", rows)}


def texts(records: Records, rows: Sequence[int]) -> dict[int, tuple[str, str]]:
    """(text, doc_id) of stored sentence rows."""
    return {row: (text, doc_id) for row, text, doc_id in records.query_in(
        "SELECT row, text, doc_id FROM sentences WHERE row IN ({in})", rows)}


def work(records: Records, path: Path, generation: int) -> Work:
    """The in-memory state of generation ``generation``: vectors with their FAISS index, each row's claim and
    core distance, each claim's representative, radius and core rows, and the sentences' normalised texts."""
    import faiss

    dimension = int(records.meta()["dimension"])
    vectors = records.vectors(dimension)
    n = len(vectors)
    index = faiss.IndexFlatIP(dimension)
    if n:
        index.add(vectors)
    claim_of = np.full(n, -1, dtype=np.int64)
    for row, claim in records.query("SELECT row, claim FROM members"):
        claim_of[row] = claim
    core_of = np.full(n, np.inf)
    claims: dict[int, dict[str, Any]] = {
        cid: {"representative": rep, "radius": radius, "core_rows": []}
        for cid, rep, radius in records.query("SELECT id, representative, radius FROM claims")}
    for cid, row, core in records.query("SELECT claim, row, core FROM core_rows ORDER BY claim, row"):
        claims[cid]["core_rows"].append(row)
        core_of[row] = np.inf if core is None else core
    norms = [norm if norm is not None else text
             for norm, text in records.query("SELECT norm, text FROM sentences ORDER BY row")]
    if len(norms) != n:
        raise StorageError(f"{path}: {len(norms)} sentences for {n} vectors: the store is damaged")
    return Work(generation, vectors, index, claim_of, core_of, claims, norms)
