"""Loaders: text directories, JSONL, CSV/TSV, DataFrames, records; errors and rejections."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from claimcluster import DocumentError, FieldMap, from_dataframe, from_records, load_documents
from claimcluster.documents import load_csv, load_jsonl, load_text_dir

from .conftest import SEEDS


def test_text_dir_uses_file_name_and_first_line():
    corpus = load_text_dir(SEEDS)
    assert [d.doc_id for d in corpus][:2] == ["000_47a087ca29e0bcd5", "001_956169bedb174063"]
    assert len(corpus) == 5 and corpus.rejected == []
    first = corpus.documents[0]
    assert first.title == "U.S. Strikes And \u2018Scores\u2019 Of Killed \u2018Russian Fighters\u2019 In Syria"
    assert first.text == (SEEDS / "000_47a087ca29e0bcd5.txt").read_text(encoding="utf-8")


def test_jsonl_with_field_map_and_rejections(tmp_path):
    path = tmp_path / "a.jsonl"
    rows = [
        {"uid": "a", "body": "Text one is here.", "site": "Outlet A", "date": "2018-02-08", "lang": "en"},
        {"uid": "b", "body": None, "site": "Outlet B"},
        {"uid": "c", "body": "   "},
        {"uid": "d", "site": "Outlet D"},
        {"uid": "e", "body": 12},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    corpus = load_jsonl(path, FieldMap(text="body", id="uid", outlet="site", published="date"))
    assert [d.doc_id for d in corpus] == ["a"]
    doc = corpus.documents[0]
    assert (doc.outlet, doc.published, doc.metadata) == ("Outlet A", "2018-02-08", {"lang": "en"})
    reasons = [r.reason for r in corpus.rejected]
    assert reasons == ["no text in field 'body'", "field 'body' is blank", "no text in field 'body'",
                       "field 'body' is not a string", "no text in field 'body'"]
    assert corpus.rejected[0].where.endswith(":2")


def test_bad_json_line_names_the_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "fine"}\n{"text": oops}\n', encoding="utf-8")
    with pytest.raises(DocumentError, match=r"bad.jsonl:2: not valid JSON"):
        load_jsonl(path)


def test_csv_and_tsv(tmp_path):
    (tmp_path / "a.csv").write_text('id,text,outlet\n1,"Hello, world said the man.",X\n2,,Y\n', encoding="utf-8")
    (tmp_path / "b.tsv").write_text("id\ttext\n3\tTabbed text here.\n", encoding="utf-8")
    corpus = load_documents([tmp_path / "a.csv", tmp_path / "b.tsv"])
    assert [(d.doc_id, d.text) for d in corpus] == [("1", "Hello, world said the man."), ("3", "Tabbed text here.")]
    assert len(corpus.rejected) == 1
    with pytest.raises(DocumentError, match=r"no column 'body'"):
        load_csv(tmp_path / "a.csv", FieldMap(text="body"))


def test_dataframe_and_records():
    frame = pd.DataFrame({"id": ["x", "y"], "text": ["First doc.", float("nan")], "outlet": ["A", None]})
    corpus = from_dataframe(frame)
    assert [d.doc_id for d in corpus] == ["x"] and len(corpus.rejected) == 1
    records = from_records([{"text": "No id here."}, "not a mapping"], FieldMap(id=None), source="feed")
    assert records.documents[0].doc_id == "feed:1"
    assert records.rejected[0].reason == "record is str, not an object"


def test_undecodable_bytes_name_file_and_offset(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "bad.txt").write_bytes("Caf\u00e9 ok. ".encode() + b"\xff\xfe broken")
    with pytest.raises(DocumentError, match=r"bad.txt: invalid UTF-8 at byte offset 10"):
        load_documents([folder])
    corpus = load_documents([folder], errors="replace")
    assert "\ufffd" in corpus.documents[0].text


def test_duplicate_ids_are_an_error(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"id": "1", "text": "one"}\n{"id": "1", "text": "two"}\n', encoding="utf-8")
    with pytest.raises(DocumentError, match=r"duplicate doc_id '1'"):
        load_documents([tmp_path / "a.jsonl"])


def test_unknown_type_and_missing_path(tmp_path):
    (tmp_path / "x.pdf").write_bytes(b"%PDF")
    with pytest.raises(DocumentError, match=r"unknown file type '.pdf'"):
        load_documents([tmp_path / "x.pdf"])
    with pytest.raises(DocumentError, match=r"no such file"):
        load_documents([tmp_path / "missing.jsonl"])


def test_empty_text_file_is_rejected_not_lost(tmp_path):
    (tmp_path / "empty.txt").write_text(" \n\n", encoding="utf-8")
    corpus = load_documents([tmp_path])
    assert len(corpus) == 0 and corpus.rejected[0].reason == "file is empty"


def test_ids_that_read_the_same_are_one_id_and_odd_ids_are_refused(tmp_path):
    from claimcluster import DocumentError

    path = tmp_path / "a.jsonl"
    path.write_text('{"id": "caf\\u00e9", "text": "One two three four."}\n'
                    '{"id": "cafe\\u0301 ", "text": "Five six seven eight."}\n')  # NFD and a trailing space
    with pytest.raises(DocumentError, match="duplicate doc_id 'caf\u00e9'"):
        load_documents([path])
    path.write_text('{"id": true, "text": "One two three four."}\n{"id": ["x"], "text": "Five six seven eight."}\n'
                    '{"id": 7, "text": "Nine ten eleven twelve."}\n')
    corpus = load_documents([path])
    assert [d.doc_id for d in corpus.documents] == ["7"]
    assert [r.reason for r in corpus.rejected] == ["the id in field 'id' is a bool, not a string or a number",
                                                   "the id in field 'id' is a list, not a string or a number"]


def test_a_text_directory_reads_txt_in_any_case_and_names_the_data_files_it_leaves(tmp_path):
    (tmp_path / "a.txt").write_text("Title A\nThe first article says one thing.")
    (tmp_path / "B.TXT").write_text("Title B\nThe second article says another.")
    (tmp_path / "c.jsonl").write_text('{"id": "c", "text": "A record."}\n')
    (tmp_path / "README.md").write_text("About these files.")
    corpus = load_documents([tmp_path])
    assert [d.doc_id for d in corpus.documents] == ["B", "a"]
    assert [(Path(r.where).name, r.reason.split(":")[0]) for r in corpus.rejected] == [
        ("c.jsonl", "a .jsonl file inside a directory of text files")]
