"""Do this machine's int8 vectors match the reference made on another? And torch's?

    python -m benchmarks.numerics --json [--data benchmarks/data/numerics] [--shared DIR]
    python -m benchmarks.numerics --write --texts FILE.npz   # make the reference (data dir as above)

``--data`` holds ``vectors.npz`` (the 1,000 reference sentences, ``texts``, and their vectors from
the default ``Embedder()`` and the plain ``Embedder("all-MiniLM-L6-v2")`` with their default
backend, ``default`` and ``plain``, float16) and ``card.json`` (how and where they were made: model
ids, onnxruntime and onnx versions, the commit, the CPU and its vector-instruction flags). Both
models encode the sentences here; the figures are the lowest (and mean) cosine to the reference
vectors, and to the same model's torch vectors made here. The int8 products are exact on every
CPU, so the reference figure should be >= 0.999 anywhere; lower means the graph or the kernels
changed (another onnxruntime version, say). ``--shared DIR`` also compares with the
``int8_vectors_*.npz`` of DIR (``default_int8`` / ``plain_int8`` arrays over the same texts).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
from pathlib import Path

import numpy as np

from benchmarks.common import cpu, emit
from claimcluster import BASE_MODEL, DEFAULT_MODEL, Embedder

DATA = Path(__file__).resolve().parent / "data" / "numerics"
MODELS = {"default": DEFAULT_MODEL, "plain": BASE_MODEL}


def versions() -> dict:
    from claimcluster import __version__
    from claimcluster.embed._onnx import toolchain

    return {"claimcluster": __version__, **toolchain(), "numpy": np.__version__, "python": platform.python_version()}


def commit() -> str:
    """The checked-out commit of this repository (with "+changes" when the work tree differs), or "unknown"."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+changes" if dirty else "")


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def figures(cos: np.ndarray) -> dict:
    return {"min": round(float(cos.min()), 6), "mean": round(float(cos.mean()), 6),
            "below_0.999": int(np.sum(cos < 0.999))}


def write(data: Path, texts_file: Path) -> dict:
    """Encode the texts of ``texts_file`` (an .npz with a ``texts`` array) with both models here and write the
    reference files to ``data``."""
    with np.load(texts_file, allow_pickle=False) as held:
        texts = [str(t) for t in held["texts"]]
    data.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {"texts": np.array(texts)}
    described = texts_file.with_suffix(".json")
    source = json.loads(described.read_text(encoding="utf-8")).get("texts") if described.is_file() else None
    card: dict = {"texts": f"the 'texts' array of {texts_file.name}" + (f": {source}" if source else ""),
                  "count": len(texts), "dtype": "float16", "models": {}}
    for key, model in MODELS.items():
        embedder = Embedder(model)
        arrays[key] = embedder.encode(texts).astype(np.float16)
        card["models"][key] = {"model": model, "model_id": embedder.model_id, "backend": embedder.backend_used}
    card["dimension"] = int(arrays["default"].shape[1])
    card.update({"commit": commit(), "versions": versions(), "cpu": cpu()})
    np.savez_compressed(data / "vectors.npz", **arrays)
    (data / "card.json").write_text(json.dumps(card, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return card


def compare(data: Path, shared: Path | None, count: int | None) -> dict:
    card = json.loads((data / "card.json").read_text(encoding="utf-8"))
    with np.load(data / "vectors.npz", allow_pickle=False) as held:
        reference = {name: held[name] for name in held.files}
    texts = [str(t) for t in reference["texts"]][:count]
    other = shared_file = None
    if shared is not None:
        found = sorted(shared.glob("int8_vectors_*.npz")) if shared.is_dir() else [shared]
        if not found:
            raise SystemExit(f"no int8_vectors_*.npz in {shared}")
        shared_file = found[0]
        with np.load(shared_file, allow_pickle=False) as held:
            other = {name: held[name] for name in held.files}
        if [str(t) for t in other["texts"]][: len(texts)] != texts:
            raise SystemExit(f"{shared_file} holds other texts than {data / 'vectors.npz'}")
    result: dict = {"sentences": len(texts), "models": {}}
    for key, model in MODELS.items():
        embedder = Embedder(model)
        vectors = embedder.encode(texts)
        torch_vectors = embedder.sentence_transformer().encode(texts, batch_size=64, normalize_embeddings=True)
        row: dict = {"model_id": embedder.model_id, "backend": embedder.backend_used,
                     "reference_model_id": card["models"][key]["model_id"]}
        against = {"reference": reference[key], "torch": torch_vectors}
        if other is not None:
            against["shared"] = other[f"{key}_int8"]
        for name, those in against.items():
            row[f"to_{name}"] = figures(cosines(vectors, those[: len(texts)]))
            row[f"min_cosine_to_{name}"] = row[f"to_{name}"]["min"]
        result["models"][key] = row
    result["min_cosine_to_reference"] = min(r["min_cosine_to_reference"] for r in result["models"].values())
    result["min_cosine_to_torch"] = min(r["min_cosine_to_torch"] for r in result["models"].values())
    result["reference"] = {"commit": card["commit"], "versions": card["versions"], "cpu": card["cpu"]}
    result["this_machine"] = {"commit": commit(), "versions": versions(), "cpu": cpu()}
    if shared_file is not None:
        shared_card = json.loads(shared_file.with_suffix(".json").read_text(encoding="utf-8")) \
            if shared_file.with_suffix(".json").is_file() else {}
        result["shared"] = {"file": str(shared_file), "onnxruntime": shared_card.get("onnxruntime"),
                            "cpu_flags": shared_card.get("cpu_flags")}
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA, help="directory of vectors.npz and card.json")
    parser.add_argument("--shared", type=Path, help="also compare with the int8_vectors_*.npz of this directory")
    parser.add_argument("--quick", action="store_true", help="first 200 sentences only")
    parser.add_argument("--write", action="store_true", help="make the reference files in --data from --texts")
    parser.add_argument("--texts", type=Path, help="with --write: an .npz whose 'texts' array is the sentences")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.write:
        if args.texts is None:
            parser.error("--write needs --texts")
        result = write(args.data, args.texts)
    else:
        result = compare(args.data, args.shared, 200 if args.quick else None)
    emit(result, args.json)
    return result


if __name__ == "__main__":
    main()
