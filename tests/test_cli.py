"""The command line, through click's CliRunner (and once as python -m)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pandas as pd
import pytest
from click.testing import CliRunner

from claimcluster.cli import main

from .conftest import SEEDS


@pytest.fixture(scope="module")
def runner():
    return CliRunner()


def test_cluster_text_output(runner):
    result = runner.invoke(main, ["cluster", str(SEEDS), "--min-cluster-size", "2", "--max-claims", "3"])
    assert result.exit_code == 0, result.output
    assert "claims from" in result.output
    assert result.output.count("\nclaim ") == 3
    assert "more claims" in result.output


def test_cluster_json_outline(runner, tmp_path):
    out = tmp_path / "claims.json"
    result = runner.invoke(main, ["cluster", str(SEEDS), "--min-cluster-size", "2", "--format", "json",
                                  "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["claims"] and {"id", "representative", "members"} <= set(data["claims"][0])
    assert {"doc_id", "text"} <= set(data["unclustered"][0])


@pytest.mark.parametrize("fmt, marker", [("html", "<table id=claims>"), ("markdown", "| id | representative |")])
def test_cluster_reports(runner, fmt, marker):
    result = runner.invoke(main, ["cluster", str(SEEDS), "--min-cluster-size", "2", "--format", fmt])
    assert result.exit_code == 0, result.output
    assert marker in result.output


def test_cluster_parquet_needs_out(runner, tmp_path):
    result = runner.invoke(main, ["cluster", str(SEEDS), "--format", "parquet"])
    assert result.exit_code == 2 and "--out" in result.output
    out = tmp_path / "c.parquet"
    assert runner.invoke(main, ["cluster", str(SEEDS), "--format", "parquet", "--out", str(out)]).exit_code == 0
    assert len(pd.read_parquet(out)) > 100


def test_library_errors_become_clean_messages(runner, tmp_path):
    bad = tmp_path / "x.pdf"
    bad.write_bytes(b"%PDF")
    result = runner.invoke(main, ["cluster", str(bad)])
    assert result.exit_code == 2
    assert "error: " in result.output and "unknown file type '.pdf'" in result.output
    assert "Traceback" not in result.output


def test_python_dash_m_works():
    done = subprocess.run([sys.executable, "-m", "claimcluster", "cluster", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "Example:" in done.stdout


def test_html_report_is_one_file_a_researcher_can_search(tmp_path):
    out = tmp_path / "claims.html"
    old = os.umask(0o022)
    try:
        done = subprocess.run([sys.executable, "-m", "claimcluster", "cluster", str(SEEDS), "--min-cluster-size", "2",
                               "--format", "html", "--out", str(out)], capture_output=True, text=True)
    finally:
        os.umask(old)
    assert done.returncode == 0, done.stderr
    page = out.read_text(encoding="utf-8")
    assert oct(out.stat().st_mode & 0o777) == oct(0o644)  # the umask, not 0600
    assert "Who carries what" in page and "<input id=q type=search" in page and "data-key=outlets" in page
    assert "<script src" not in page and "<link" not in page and "@import" not in page  # no CDN, no server
    # stderr is not a terminal here: the run says where it is, and that the seeds name no outlet or date.
    assert "5 documents: " in done.stderr and " claims; " in done.stderr
    assert "warning: 5 of 5 documents have no outlet" in done.stderr
    assert "warning: 5 of 5 documents have no outlet" in page
    quiet = subprocess.run([sys.executable, "-m", "claimcluster", "--quiet", "cluster", str(SEEDS), "--format", "json"],
                           capture_output=True, text=True)
    assert quiet.returncode == 0 and quiet.stderr == "" and json.loads(quiet.stdout)["summary"]["warnings"]


def test_the_html_report_reads_odd_dates_without_failing(tmp_path):
    sentence = "The ministry said that no Russian servicemen were killed in the strike near Deir Ezzor."
    dates = ["2024-13-45", "2024-02-30", "0000-01-01", "\uff12\uff10\uff12\uff14-\uff10\uff13-\uff10\uff11",
             "2024-03-02"]
    path = tmp_path / "docs.jsonl"
    path.write_text("".join(json.dumps({"id": f"d{i}", "text": f"{sentence} Other news item number {i} today.",
                                        "outlet": f"Outlet {i}", "published": d}) + "\n"
                            for i, d in enumerate(dates)))
    result = CliRunner().invoke(main, ["cluster", str(path), "--format", "html", "--min-cluster-size", "2"])
    assert result.exit_code == 0, result.output
    assert "2024-03-01" in result.output and "2024-13-45" in result.output  # read, and shown as given


def test_a_closed_pipe_ends_the_output_quietly(tmp_path):
    done = subprocess.run(f"{sys.executable} -m claimcluster cluster {SEEDS} --max-claims 20 | head -1", shell=True,
                          capture_output=True, text=True, timeout=600)
    assert done.stdout.count("\n") == 1 and "Broken pipe" not in done.stderr and "error" not in done.stderr


def test_an_invisible_query_is_skipped_with_its_line_not_the_whole_run(tmp_path, embedder):
    from claimcluster import ClaimIndex

    ClaimIndex(embedder).add(["Russia denied that its soldiers died in Syria."], ids=["syria"]).save(tmp_path / "ix")
    queries = tmp_path / "queries.jsonl"
    queries.write_text('{"text": "Moscow says no soldiers died in Syria"}\n{"text": "\\u200b"}\n'
                       '{"text": "Russia denied Syrian deaths"}\n')
    result = CliRunner().invoke(main, ["match", str(tmp_path / "ix"), "--queries", str(queries), "--json"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("{")]
    assert len(lines) == 2 and "queries.jsonl:2" in result.output


def test_article_text_cannot_inject_markup_or_terminal_escapes(tmp_path):
    from claimcluster import ClaimSet, render_markdown, render_text
    from claimcluster.claims import Claim, Member

    text = "Click [here](javascript:alert(1)) <script>alert(2)</script> \x1b[2J now, officials said."
    member = Member("d1", text, 0, len(text), 0, "Outlet", None, 1.0, 1.0, "repeats", 1.0)
    claims = ClaimSet(claims=[Claim(0, member, (member,), 1.0)], unclustered=[], n_documents=1, model_id="m",
                      parameters={})
    markdown = render_markdown(claims)
    assert "<script>" not in markdown and "\x1b" not in markdown
    assert not re.search(r"(?<!\\)\]\(javascript:", markdown)  # the brackets are escaped: no link
    assert "&lt;script&gt;" in markdown
    assert "\x1b" not in render_text(claims)
