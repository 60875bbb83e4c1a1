"""The same-assertion judge: shipped file verified, real sentence pairs, training that never sees dev rows."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from claimcluster.errors import InputError, ModelIntegrityError
from claimcluster.judge import JUDGE_CARD, JUDGE_FILE, SHIPPED_JUDGE_DIR, SameAssertionJudge, shipped_judge

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def test_reads_paraphrases_as_one_assertion_and_a_story_as_several():
    judge = shipped_judge()
    a = ["Kim Jong-un had surgery on his ankle, according to South Korean intelligence.",
         "Kim Jong-un had ankle surgery.",
         "Apple will sell a gold edition of its watch for $10,000.",
         "The Pope said that all dogs go to heaven."]
    b = ["South Korea's spy agency says Kim Jong-un underwent ankle surgery.",
         "Kim Jong-un has not been seen in public for a month.",
         "A man in Texas was arrested after a car chase on Tuesday.",
         "The Pope never said that dogs go to heaven; the quote was made up."]
    verdict = judge.judge(a, b)
    # Clear cases only: a paraphrase, and two stories. (Same story, other assertion, as in the second pair, is
    # where the judge errs most: benchmarks/RESULTS.md.)
    assert verdict.accepted[0] and not verdict.accepted[2]
    assert verdict.same[0] > 0.9 > 0.1 > verdict.same[2]
    assert verdict.contradict[3] > verdict.contradict[2]
    probabilities = judge.predict(a, b)
    assert probabilities.shape == (4, 3) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)


def test_other_figures_and_swapped_roles_are_contradictions_not_the_same_assertion():
    a = ["The strike killed 62 soldiers, the ministry said.", "Israel accused Hamas of breaking the ceasefire."]
    b = ["The ministry said the strike killed 100 soldiers.", "Hamas accused Israel of breaking the ceasefire."]
    verdict = shipped_judge().judge(a, b)
    assert not verdict.accepted.any() and verdict.denied.all()
    assert shipped_judge().judge(a, b, rules=False).conflicts is None


def test_pairs_are_read_in_any_batch_and_order():
    judge = shipped_judge()
    a = ["Three people were killed in the blast.", "The ministry denied the report.", "It rained."]
    b = ["The explosion killed three.", "The ministry confirmed the report.", "Police made an arrest."]
    together = judge.predict(a, b)
    alone = np.vstack([judge.predict([x], [y]) for x, y in zip(a, b)])
    assert np.allclose(together, alone, atol=1e-4)


def test_onnx_runtime_gives_the_torch_probabilities(tmp_path, monkeypatch):
    monkeypatch.setenv("CLAIMCLUSTER_HOME", str(tmp_path))
    a = ["Russia denied that its soldiers died in Syria.", "Three were killed.", "Kim had ankle surgery."]
    b = ["Moscow said no Russian soldiers were killed in Syria.", "The blast killed 62.", "It rained in Paris."]
    onnx = SameAssertionJudge(backend="onnx")
    assert np.allclose(onnx.predict(a, b), SameAssertionJudge(backend="torch").predict(a, b), atol=1e-3)
    from claimcluster.judge._onnx import export_dir

    export = export_dir(onnx.card, "onnx")
    assert onnx.backend_used == "onnx" and export.is_dir() and export.parent == tmp_path / "judge"
    (export / "model.onnx").write_bytes(b"damaged")  # a damaged export is made again, not used
    again = SameAssertionJudge(backend="onnx")
    assert np.allclose(again.predict(a, b), onnx.predict(a, b), atol=1e-5)
    with pytest.raises(InputError, match="backend must be"):
        SameAssertionJudge(backend="int4").predict(a, b)


def test_the_default_judge_is_int8_exact_on_every_cpu_and_decides_clear_pairs_as_torch(tmp_path, monkeypatch):
    """The default export quantises with the encoder's 7-bit recipe: every weight of an integer product
    within [-64, 64], so no pair of uint8 x int8 products can saturate a 16-bit sum on any kernel (the
    encoder's test checks such products against exact integer arithmetic); it sits in a directory
    named by its toolchain; on pairs far from the cut it decides as the torch judge does."""
    import onnx
    import onnxruntime
    from onnx import numpy_helper

    from claimcluster.judge._onnx import RECIPE_VERSION, export_dir
    from tests.test_onnx import _integer_products

    monkeypatch.setenv("CLAIMCLUSTER_HOME", str(tmp_path))
    a = ["Kim Jong-un had surgery on his ankle, according to South Korean intelligence.",
         "Apple will sell a gold edition of its watch for $10,000.", "The ministry called the report a provocation."]
    b = ["South Korea's spy agency says Kim Jong-un underwent ankle surgery.",
         "A man in Texas was arrested after a car chase on Tuesday.",
         "The report was called a provocation by the ministry."]
    int8 = SameAssertionJudge()
    verdict, torch = int8.judge(a, b), SameAssertionJudge(backend="torch").judge(a, b)
    assert int8.backend_used == "onnx-int8"
    assert verdict.accepted.tolist() == torch.accepted.tolist() == [True, False, True]
    directory = export_dir(int8.card, "onnx-int8")
    assert directory.name.endswith(f".onnx-int8-v{RECIPE_VERSION}.ort{onnxruntime.__version__}"
                                   f".onnx{onnx.__version__}")
    model = onnx.load(str(directory / "model.onnx"))
    weights = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    products = _integer_products(model)
    # each layer's QKV, attention output and two feed-forward products, and the head
    assert len(products) == 4 * int(int8.card.get("layers", 6)) + 1
    for _, _, weight, zero_point in products:
        assert weights[weight].dtype == np.int8 and not weights[zero_point].any()
        assert np.abs(weights[weight].astype(np.int64)).max() <= 64, weight
    card = json.loads((directory / "judge-onnx.json").read_text())
    card["versions"]["onnxruntime"] = "1.0.0"  # made by another toolchain: exported again, not used
    (directory / "judge-onnx.json").write_text(json.dumps(card))
    again = SameAssertionJudge()
    assert np.allclose(again.predict(a, b), int8.predict(a, b), atol=1e-6)
    assert json.loads((directory / "judge-onnx.json").read_text())["versions"]["onnxruntime"] == \
        onnxruntime.__version__


def test_a_sentence_states_its_own_assertion_and_a_pair_is_read_once(monkeypatch):
    judge = SameAssertionJudge()
    read: list[int] = []
    runner = judge._runner()
    predict = runner.predict
    monkeypatch.setattr(runner, "predict", lambda a, b: read.append(len(a)) or predict(a, b))
    claim = "The ministry denied the report."
    verdict = judge.judge([claim, "the  MINISTRY denied the report.", "It rained.", "It rained.", "The report."],
                          [claim, claim, claim, claim, "The report!"])
    assert read == [2]  # "It rained." once, and the pair that differs by its punctuation
    assert verdict.same[:2].tolist() == [1.0, 1.0] and verdict.contradict[:2].tolist() == [0.0, 0.0]
    assert verdict.accepted[:2].all() and verdict.same[2] == verdict.same[3] and not verdict.accepted[2]


def test_bad_input():
    with pytest.raises(InputError, match="got 2 first and 1 second"):
        shipped_judge().predict(["a", "b"], ["c"])
    assert shipped_judge().predict([], []).shape == (0, 3)


def test_a_damaged_or_foreign_file_is_refused(tmp_path):
    shutil.copy(SHIPPED_JUDGE_DIR / JUDGE_CARD, tmp_path / JUDGE_CARD)
    data = bytearray((SHIPPED_JUDGE_DIR / JUDGE_FILE).read_bytes())
    data[-1] ^= 0xFF
    (tmp_path / JUDGE_FILE).write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match="damaged or from another training run"):
        SameAssertionJudge(tmp_path).predict(["a"], ["b"])
    card = json.loads((SHIPPED_JUDGE_DIR / JUDGE_CARD).read_text())
    card["base_sha256"] = "0" * 64
    card["judge_sha256"] = __import__("hashlib").sha256(bytes(data)).hexdigest()
    (tmp_path / JUDGE_CARD).write_text(json.dumps(card))
    with pytest.raises(ModelIntegrityError, match="applies to base weights 0000"):
        SameAssertionJudge(tmp_path).predict(["a"], ["b"])
    (tmp_path / JUDGE_CARD).write_text("{}")
    with pytest.raises(ModelIntegrityError, match="not a judge card"):
        SameAssertionJudge(tmp_path).predict(["a"], ["b"])


def test_shipped_card_says_how_it_was_made():
    card = shipped_judge().card
    assert card["training"]["command"].startswith("python -m claimcluster.training judge")
    assert card["judge_bytes"] <= 8 * 2**20
    assert 0 < card["same_threshold"] < 1


@pytest.mark.skipif(not (SHARED / "fnc1_assertion_pairs_train").is_dir(), reason="needs ../shared/data")
def test_training_never_reads_held_back_rows(tmp_path):
    """Changing the labels of dev-partition pairs, and the texts of dev ECB+ topics, changes no trained weight.
    (The texts of dev pairs are read, to hold those sentences out of training.)"""
    from claimcluster.training.data import in_dev
    from claimcluster.training.judge import JudgeSettings, fnc1_partition, load_judge_data, train_judge

    rows = [json.loads(line) for line in (SHARED / "fnc1_assertion_pairs_train" / "pairs.jsonl").open()][:120]
    train, dev = fnc1_partition(rows)
    assert dev and not {r["a"] for r in dev} & {t for r in train for t in (r["a"], r["b"])}
    docs = [json.loads(line) for line in (SHARED / "ecbplus" / "documents.jsonl").open()][:60]
    settings = JudgeSettings(max_steps=2, batch_size=4, ecb_pairs=8, epochs=1)
    cards = []
    for variant in range(2):
        folder = tmp_path / f"data{variant}"
        (folder / "fnc1_assertion_pairs_train").mkdir(parents=True)
        (folder / "ecbplus").mkdir()
        changed = [dict(r, label="contradict" if variant else r["label"], why="changed")
                   if in_dev(f"fnc1-pair:{r['pair_id']}") else r for r in rows]
        (folder / "fnc1_assertion_pairs_train" / "pairs.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in changed))
        changed_docs = [dict(d, sentences=[dict(s, text=s["text"] + " x") for s in d["sentences"]])
                        if variant and in_dev(f"ecb-topic:{d['topic']}") else d for d in docs]
        (folder / "ecbplus" / "documents.jsonl").write_text("".join(json.dumps(d) + "\n" for d in changed_docs))
        data = load_judge_data(folder, settings)
        data.dev = dev[:4]  # the evaluation reads dev rows; keep it identical to compare the weights alone
        cards.append(train_judge(data, tmp_path / f"out{variant}", settings, log=lambda _: None))
    assert cards[0]["judge_sha256"] == cards[1]["judge_sha256"]


def test_matcher_training_never_learns_from_dev_tweets(tmp_path):
    """The matcher experiment (benchmarks/matcher.py): changing the dev tweets and their verified claims changes
    no trained weight."""
    from dataclasses import replace

    from benchmarks.matcher import CHECKTHAT, MatcherSettings, load_matcher_data, train_matcher

    source = SHARED / CHECKTHAT
    queries = [json.loads(line) for line in (source / "queries.jsonl").open()]
    qrels = [json.loads(line) for line in (source / "qrels.jsonl").open()]
    train = [q for q in queries if q["split"] == "train"][:6]
    dev = [q for q in queries if q["split"] == "dev"][:3]
    wanted = {r["vclaim_id"] for r in qrels if r["tweet_id"] in {q["tweet_id"] for q in train + dev}}
    claims = [json.loads(line) for line in (source / "vclaims.jsonl").open()]
    claims = [c for c in claims if c["vclaim_id"] in wanted] + [c for c in claims if c["vclaim_id"] not in wanted][:30]
    settings = MatcherSettings(negatives=3, judge=replace(MatcherSettings().judge, max_steps=2))
    cards = []
    for variant in range(2):
        folder = tmp_path / f"data{variant}" / CHECKTHAT
        folder.mkdir(parents=True)
        changed = [dict(q, text=q["text"] + " Really.") if variant and q in dev else q for q in train + dev]
        links = [dict(r, vclaim_id=claims[-1]["vclaim_id"]) if variant and r["split"] == "dev" else r
                 for r in qrels if r["tweet_id"] in {q["tweet_id"] for q in train + dev}]
        for name, rows in (("queries", changed), ("qrels", links), ("vclaims", claims)):
            (folder / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        data = load_matcher_data(folder.parent, settings, log=lambda _: None)
        assert data.counts["train_groups"] >= 6 and len(data.dev) == 3 and data.dev[0][4]
        cards.append(train_matcher(data, tmp_path / f"out{variant}", settings, log=lambda _: None))
    assert cards[0]["judge_sha256"] == cards[1]["judge_sha256"]
