"""fnc1: labels with/without hull attach, scored on labelled pairs."""
import json, numpy as np
from pathlib import Path
from benchmarks.common import read_jsonl
from claimcluster import Embedder, cluster_vectors, load_documents
from claimcluster.segment import segment_documents
from claimcluster import FieldMap
docs = list(load_documents(["../shared/data/fnc1_train_bodies/bodies.jsonl"], FieldMap(text="text", id="body_id")))
seg = segment_documents(docs)
S = seg.sentences
X = Embedder().encode([s.norm for s in S])
np.save("/tmp/fnc1_X.npy", X)
json.dump([[s.doc_id, s.start] for s in S], open("/tmp/fnc1_keys.json","w"))
print(len(S))
