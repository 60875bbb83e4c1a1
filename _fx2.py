import json, numpy as np, time
from benchmarks.common import read_jsonl
from claimcluster import cluster_vectors
X=np.load("/tmp/fnc1_X.npy"); keys=[tuple(k) for k in json.load(open("/tmp/fnc1_keys.json"))]
pos={k:i for i,k in enumerate(keys)}
pairs={p["pair"]:p for p in read_jsonl("benchmarks/fnc1_pairs/pairs.jsonl")}
labels={r["pair"]:r["label"] for r in read_jsonl("benchmarks/fnc1_pairs/labels.jsonl")}
rows=[pairs[n] for n in sorted(labels)]; same=np.array([labels[p["pair"]]=="same" for p in rows])
ia=np.array([pos.get((p["a_doc"],p["a_start"]),-1) for p in rows]); ib=np.array([pos.get((p["b_doc"],p["b_start"]),-1) for p in rows])
print("missing", (ia<0).sum(), (ib<0).sum())
def pr(lab):
    pred=(ia>=0)&(ib>=0)&(lab[ia]==lab[ib])&(lab[ia]!=-1)
    return int(pred.sum()), round((pred&same).sum()/max(pred.sum(),1),3), round((pred&same).sum()/same.sum(),3)
t=time.time(); lab=cluster_vectors(X).labels; print("cluster", time.time()-t, lab.max()+1, (lab==-1).sum(), pr(lab))
def hull(lab):
    k=lab.max()+1; new=lab.copy()
    C=np.zeros((k,X.shape[1])); np.add.at(C, lab[lab>=0], X[lab>=0]); C/=np.linalg.norm(C,axis=1,keepdims=True)
    floor=np.full(k,9.0); s_own=(X[lab>=0]*C[lab[lab>=0]]).sum(1); np.minimum.at(floor, lab[lab>=0], s_own)
    noise=np.flatnonzero(lab==-1); S=X[noise]@C.T.astype(np.float32)
    ok=S>=floor[None,:]; S2=np.where(ok,S,-9); best=S2.argmax(1); has=ok.any(1)
    new[noise[has]]=best[has]; return new
h=hull(lab); print("hull", (h==-1).sum(), pr(h))
pred=(lab[ia]==lab[ib])&(lab[ia]!=-1)
for j in np.flatnonzero(pred):
    r=rows[j]; print(labels[r["pair"]], "|", r["a"][:150], "||", r["b"][:150])
