"""The model's stage of a review: one bounded, constrained call per file, grounded after.

The model is given the file with line numbers, the fixed CWE list and what the
static stage knows about the file (rules, lines, CWEs, and the taint pass's
source-to-sink paths); it answers findings with a CWE, the quoted code and the
data flow, which :func:`codeforge.ai.grounding.ground` checks against the file.

Each call is bounded (``timeout`` seconds, no retry), so one file never holds a
review for long; its answer is cached by the file's hash, the model and the
prompt's version, so re-reviewing an unchanged tree asks nothing.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from codeforge.ai.errors import AIAnswerError, AIProviderError, AITimeoutError
from codeforge.ai.findings import SEVERITIES, Finding
from codeforge.ai.grounding import CWES, FLOW_MAX, QUOTE_MAX, Dropped, ground

if TYPE_CHECKING:
    from codeforge.ai.provider import Provider

PROMPT_VERSION: Final = "grounded-1"
MAX_FILE_CHARS: Final = 8000
DEFAULT_FILE_TIMEOUT: Final = 60.0

SYSTEM: Final = (
    "You review Python code for security bugs. Report a finding only when you can show "
    "untrusted data (input(), request arguments, sys.argv, os.environ, a file or network "
    "read) reaching a dangerous sink, or a hard-coded secret. For each: the line number, "
    "the exact code on that line (quote), one CWE id from this list: "
    + ", ".join(f"{k} ({v})" for k, v in CWES.items())
    + "; and in one or two sentences the flow from the source to the sink. "
    "A value that is a constant on every path is not untrusted. "
    "No finding is better than a guess."
)


def model_schema(max_items: int = 5) -> dict[str, Any]:
    """What the model must answer: findings without the file (one file per call)."""
    return {
        "type": "object",
        "properties": {
            "findings": {
                "type": "array",
                "maxItems": max_items,
                "items": {
                    "type": "object",
                    "properties": {
                        "line": {"type": "integer", "minimum": 1},
                        "cwe": {"type": "string", "pattern": "^CWE-[0-9]{1,4}$"},
                        # Bounded so a full answer always fits in the token budget.
                        "quote": {"type": "string", "minLength": 1, "maxLength": QUOTE_MAX},
                        "flow": {"type": "string", "minLength": 1, "maxLength": FLOW_MAX},
                        "severity": {"enum": list(SEVERITIES)},
                        "message": {"type": "string", "minLength": 1, "maxLength": 160},
                        "suggestion": {"type": "string", "maxLength": 160},
                    },
                    "required": ["line", "cwe", "quote", "flow", "severity", "message"],
                    "additionalProperties": False,
                },
            }
        },
        "required": ["findings"],
        "additionalProperties": False,
    }


def static_facts(static: Sequence[Finding]) -> str:
    """What the static stage found in one file, as lines for the prompt."""
    lines = []
    for f in sorted(static, key=lambda f: f.line):
        what = f.flow or f.message
        lines.append(f"- line {f.line}: {f.source} {f.rule} {f.cwe}: {what}".replace("  ", " "))
    return "\n".join(lines)


def prompt(name: str, text: str, static: Sequence[Finding]) -> list[dict[str, str]]:
    """The messages for one file."""
    numbered = "\n".join(f"{i + 1}: {line}" for i, line in enumerate(text.splitlines()))
    facts = static_facts(static)
    user = f"File {name}:\n{numbered}"
    if facts:
        user += f"\n\nStatic analysis of this file:\n{facts}"
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


@dataclass
class ModelReview:
    """The model's stage over several files: findings kept, dropped, and notes; when the
    model server was lost midway, why (``lost``) and the files it never reviewed."""

    findings: list[Finding] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    lost: AIProviderError | None = None
    not_reviewed: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Options:
    """How the model's stage runs: the per-file bound, the cache, where progress goes."""

    timeout: float = DEFAULT_FILE_TIMEOUT
    cache: Path | None = None
    progress: Callable[[str], None] | None = None
    max_tokens: int = 1000


def cache_key(data: bytes, model: str) -> str:
    """The cache key of one file's answer: its bytes, the model, the prompt's version."""
    digest = hashlib.sha256()
    for part in (PROMPT_VERSION.encode(), model.encode(), data):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


def _ask(
    provider: Provider, path: Path, text: str, static: Sequence[Finding], options: Options
) -> list[dict[str, Any]]:
    data, _ = provider.complete_json(
        prompt(path.name, text, static),
        model_schema(),
        max_tokens=options.max_tokens,
        schema_name="review",
        timeout=options.timeout,
    )
    items: list[dict[str, Any]] = data["findings"]
    return items


def _cached_answer(
    provider: Provider, path: Path, raw: bytes, static: Sequence[Finding], options: Options
) -> tuple[list[dict[str, Any]], bool]:
    """The model's items for ``path`` (from the cache when there), and whether cached."""
    text = raw.decode("utf-8")[:MAX_FILE_CHARS]
    entry = options.cache / f"{cache_key(raw, provider.model)}.json" if options.cache else None
    if entry is not None and entry.is_file():
        try:
            cached = json.loads(entry.read_text(encoding="utf-8"))
            if isinstance(cached, list) and all(isinstance(i, dict) for i in cached):
                return cached, True
        except ValueError:
            pass  # a damaged entry is asked again and rewritten
    items = _ask(provider, path, text, static, options)
    if entry is not None:
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = entry.with_suffix(".tmp")
        tmp.write_text(json.dumps(items), encoding="utf-8")
        tmp.replace(entry)
    return items, False


def model_review(
    provider: Provider,
    files: Sequence[Path],
    static: Sequence[Finding],
    options: Options | None = None,
) -> ModelReview:
    """Ask the model about each file (bounded, cached), keep what the file bears out."""
    options = options or Options()
    out = ModelReview()
    say = options.progress or (lambda _line: None)
    for number, path in enumerate(files, 1):
        started = time.monotonic()
        raw = path.read_bytes()
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            out.notes.append(f"{path}: not valid UTF-8 at byte {exc.start}: not sent to the model")
            say(f"[{number}/{len(files)}] {path}: skipped by the model (not valid UTF-8)")
            continue
        if len(raw) > MAX_FILE_CHARS and len(raw.decode("utf-8")) > MAX_FILE_CHARS:
            out.notes.append(
                f"{path}: only its first {MAX_FILE_CHARS} characters were sent to the model"
            )
        mine = [f for f in static if f.file == str(path)]
        try:
            items, cached = _cached_answer(provider, path, raw, mine, options)
        except AITimeoutError:
            out.notes.append(f"{path}: the model gave no answer within {options.timeout:g} s")
            say(f"[{number}/{len(files)}] {path}: no answer within {options.timeout:g} s")
            continue
        except AIAnswerError as exc:  # one file's unusable answer; the next may be fine
            out.notes.append(f"{path}: not reviewed by the model: {exc.message[:200]}")
            say(f"[{number}/{len(files)}] {path}: the model's answer was unusable")
            continue
        except AIProviderError as exc:
            # The endpoint is gone (the server died, or refuses connections): asking about
            # the remaining files would fail the same way, so stop and say which they are.
            out.lost = exc
            out.not_reviewed = [str(p) for p in files[number - 1 :]]
            say(f"[{number}/{len(files)}] {path}: the model server was lost: {exc.message}")
            break
        kept, dropped = ground(items, str(path), raw.decode("utf-8"), static)
        out.findings += kept
        out.dropped += dropped
        took = "cached" if cached else f"{time.monotonic() - started:.1f} s"
        say(
            f"[{number}/{len(files)}] {path}: {len(kept)} model findings"
            f" ({sum(1 for f in kept if f.confirmed_by)} confirmed, {len(dropped)} dropped), {took}"
        )
    return out
