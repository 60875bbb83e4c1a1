"""Do claims stay inside one story? Whole ECB+ news documents clustered, each claim's stories counted.

    python -m benchmarks.stories --data DIR [--split dev|train|all] [--no-judge] [--json]

``DIR`` holds ``ecbplus/documents.jsonl`` (or is that folder). Every ECB+ topic has two incidents of one
kind (two earthquakes, two celebrities entering rehab...): each incident is a story, so a claim whose
members come from two incidents of a topic, or from two topics, mixes stories. ``dev`` is the fixed
dev partition of the topics (:mod:`claimcluster.training.judge`: the judge learned from the others),
``all`` every topic in the file (for a held-out copy with other topics). Reported: claims, the share
with members from more than one story and from three or more, and pair precision / recall of
co-clustering against the corpus's event coreference (two annotated sentences of different documents
mentioning exactly the same events are a same pair; sharing no event, a different pair).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from benchmarks.common import emit, find_file, machine, read_jsonl
from claimcluster import Document, cluster_documents, normalize_text
from claimcluster.training.data import in_dev


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="folder holding ecbplus/")
    parser.add_argument("--split", choices=["dev", "train", "all"], default="dev")
    parser.add_argument("--no-judge", action="store_true", help="density clusters alone (the previous claims)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    folder = args.data / "ecbplus"
    docs = read_jsonl(find_file(folder if folder.is_dir() else args.data, "documents.jsonl"))
    if args.split != "all":
        docs = [d for d in docs if in_dev(f"ecb-topic:{d['topic']}") == (args.split == "dev")]
    story = {d["doc_id"]: d["subtopic"] for d in docs}
    documents = [Document(doc_id=d["doc_id"], text="\n".join(s["text"] for s in d["sentences"])) for d in docs]
    started = time.perf_counter()
    claims = cluster_documents(documents, judge=None if args.no_judge else "auto")
    seconds = time.perf_counter() - started
    stories = [len({story[m.doc_id] for m in c.members}) for c in claims.claims]
    claim_of = {(m.doc_id, normalize_text(m.text)): c.id for c in claims.claims for m in c.members}
    annotated = [(d["doc_id"], normalize_text(s["text"]), frozenset(s["events"])) for d in docs
                 for s in d["sentences"] if s["annotated"] and s["events"]]
    same, together = [], []
    for i in range(len(annotated)):
        for j in range(i + 1, len(annotated)):
            (doc_a, text_a, ev_a), (doc_b, text_b, ev_b) = annotated[i], annotated[j]
            if doc_a == doc_b or (ev_a != ev_b and ev_a & ev_b):
                continue
            a, b = claim_of.get((doc_a, text_a)), claim_of.get((doc_b, text_b))
            same.append(ev_a == ev_b)
            together.append(a is not None and a == b)
    same_, together_ = np.array(same), np.array(together)
    hits = int((same_ & together_).sum())
    n = max(len(stories), 1)
    result = {
        "split": args.split, "documents": len(documents), "judge": claims.parameters.get("judge"),
        "claims": len(claims.claims), "sentences": claims.n_sentences,
        "clustered_sentences": sum(c.size for c in claims.claims),
        "share_more_than_one_story": round(sum(s > 1 for s in stories) / n, 4),
        "claims_three_or_more_stories": sum(s >= 3 for s in stories),
        "event_pairs": {"same": int(same_.sum()), "co_clustered": int(together_.sum()),
                        "precision": round(hits / max(int(together_.sum()), 1), 4),
                        "recall": round(hits / max(int(same_.sum()), 1), 4)},
        "pairs_judged_per_sentence": claims.parameters.get("pairs_judged_per_sentence"),
        "seconds": round(seconds, 1),
        "machine": machine(),
    }
    emit(result, args.json)
    return result


if __name__ == "__main__":
    main()
