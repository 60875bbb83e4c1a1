"""The command line, through click's CliRunner (and once as python -m)."""

from __future__ import annotations

import json
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


@pytest.mark.parametrize("fmt, marker", [("html", "<canvas id=\"map\""), ("markdown", "| id | representative |")])
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
