"""`nasvl lang embed` through its own argparse registration (the same calls nasvl.cli makes)."""

from __future__ import annotations

import argparse
import json

import pytest

from nasvl.cli import lang
from nasvl.errors import NasvlError


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="nasvl")
    lang.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.handler(args))


def test_lang_embed_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["lang", "embed", "a green frog on a leaf", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["dim"] == 384 and report["model"] == "minilm" and report["norm"] > 0
    assert len(report["first"]) == 8


def test_lang_embed_text_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["lang", "embed", "a green frog", "--model", "minilm"]) == 0
    assert "dim    384" in capsys.readouterr().out
    with pytest.raises(NasvlError, match="no description"):  # nasvl.cli.main turns these into exit code 2
        run(["lang", "embed", "   "])
    with pytest.raises(NasvlError, match="not available locally"):
        run(["lang", "embed", "x", "--model", "bogus-org/bogus-model"])
