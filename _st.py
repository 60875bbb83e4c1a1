import numpy as np
from pathlib import Path
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from benchmarks.common import partition, read_jsonl, find_file
from benchmarks.stance import cue_rule
from claimcluster.assertion._features import stance_features
from claimcluster import Embedder
from claimcluster.training.data import EMERGENT_STANCE
rows = read_jsonl(find_file(Path("benchmarks/data/emergent"), "emergent_headlines.jsonl"))
train = partition(rows, "train", lambda r: r["claim_id"])
H=[r["headline"] for r in train]; Cl=[r["claim"] for r in train]; y=np.array([EMERGENT_STANCE[r["stance"]] for r in train]); g=[r["claim_id"] for r in train]
e=Embedder(); vh=e.encode(H); vc=e.encode(Cl)
F = stance_features(H, Cl, vh, vc)
cue = np.array(cue_rule(H))
print("cue", (cue==y).mean())
folds=list(GroupKFold(5).split(H,y,g))
def cv(make, C):
    out=np.empty(len(y),dtype=object)
    for a,b in folds:
        Xa,Xb = make(a,b)
        m=LogisticRegression(C=C,max_iter=3000).fit(Xa,y[a]); out[b]=m.predict(Xb)
    return (out==y).mean()
from sklearn.preprocessing import StandardScaler
def feats_only(a,b):
    s=StandardScaler().fit(F[a]); return s.transform(F[a]), s.transform(F[b])
for C in (0.1,1.0): print("feats", C, cv(feats_only,C))
for ng,an in (((1,2),"word"),((1,3),"word"),((2,5),"char_wb")):
  def ngr(a,b,ng=ng,an=an):
    v=TfidfVectorizer(ngram_range=ng,analyzer=an,min_df=2,sublinear_tf=True,lowercase=True).fit([H[i] for i in a])
    return v.transform([H[i] for i in a]), v.transform([H[i] for i in b])
  def both(a,b,ng=ng,an=an):
    Xa,Xb=ngr(a,b); s=StandardScaler().fit(F[a])
    return sparse.hstack([Xa, sparse.csr_matrix(s.transform(F[a])*0.3)]).tocsr(), sparse.hstack([Xb, sparse.csr_matrix(s.transform(F[b])*0.3)]).tocsr()
  for C in (1.0,4.0,16.0):
    print(an,ng,C,"ngram",round(cv(ngr,C),4),"both",round(cv(both,C),4))
print("---- dev (fit on train)")
dev = partition(rows, "dev", lambda r: r["claim_id"])
Hd=[r["headline"] for r in dev]; Cd=[r["claim"] for r in dev]; yd=np.array([EMERGENT_STANCE[r["stance"]] for r in dev])
Fd = stance_features(Hd, Cd, e.encode(Hd), e.encode(Cd))
print("cue dev", (np.array(cue_rule(Hd))==yd).mean())
s=StandardScaler().fit(F)
for C in (0.1,1.0):
    m=LogisticRegression(C=C,max_iter=3000).fit(s.transform(F),y); print("feats",C,(m.predict(s.transform(Fd))==yd).mean())
for ng,an in (((1,2),"word"),((1,3),"word"),((2,5),"char_wb")):
  for w in (0.3,1.0):
    for C in (0.3,1.0,4.0):
      v=TfidfVectorizer(ngram_range=ng,analyzer=an,min_df=2,sublinear_tf=True).fit(H)
      Xa=sparse.hstack([v.transform(H), sparse.csr_matrix(s.transform(F)*w)]).tocsr()
      Xb=sparse.hstack([v.transform(Hd), sparse.csr_matrix(s.transform(Fd)*w)]).tocsr()
      m=LogisticRegression(C=C,max_iter=3000).fit(Xa,y)
      def mk(a,b):
          v2=TfidfVectorizer(ngram_range=ng,analyzer=an,min_df=2,sublinear_tf=True).fit([H[i] for i in a]); s2=StandardScaler().fit(F[a])
          return (sparse.hstack([v2.transform([H[i] for i in a]), sparse.csr_matrix(s2.transform(F[a])*w)]).tocsr(),
                  sparse.hstack([v2.transform([H[i] for i in b]), sparse.csr_matrix(s2.transform(F[b])*w)]).tocsr())
      print(an,ng,"w",w,"C",C,"dev",round((m.predict(Xb)==yd).mean(),4),"cv",round(cv(mk,C),4))
