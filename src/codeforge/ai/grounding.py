"""Grounded review findings: what a model says is kept only when the file bears it out.

The model answers JSON; :func:`ground` checks each finding against the file and
the static facts, deterministically:

* the line exists;
* the quoted code is on that line (or spans it, give or take one line), compared
  with whitespace collapsed;
* the CWE id is one of :data:`CWES`;
* the data flow from source to sink is explained, in one or two sentences.

A finding that fails a check is dropped, with the reason. One that passes is
*confirmed* when a static rule (ruff, bandit, the taint pass) reports the same
weakness (same CWE family) within a line of it; an unconfirmed finding is capped
at ``medium``, so the model alone never fails a ``--fail-on high`` build.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Final

from codeforge.ai.findings import SEVERITIES, Finding, Severity

# The weaknesses a review may name: what Python code commonly gets wrong.
CWES: Final[dict[str, str]] = {
    "CWE-20": "improper input validation",
    "CWE-22": "path traversal",
    "CWE-78": "OS command injection",
    "CWE-79": "cross-site scripting",
    "CWE-89": "SQL injection",
    "CWE-90": "LDAP injection",
    "CWE-94": "code injection (eval, exec)",
    "CWE-209": "error message exposes information",
    "CWE-259": "hard-coded password",
    "CWE-295": "certificate not validated",
    "CWE-327": "broken or risky cryptography",
    "CWE-328": "weak hash",
    "CWE-330": "insufficiently random values",
    "CWE-377": "insecure temporary file",
    "CWE-400": "uncontrolled resource consumption",
    "CWE-502": "deserialisation of untrusted data",
    "CWE-601": "open redirect",
    "CWE-611": "XML external entities",
    "CWE-703": "exceptions checked or handled wrongly",
    "CWE-732": "permissive file permissions",
    "CWE-798": "hard-coded credentials",
    "CWE-918": "server-side request forgery",
}
# Ids that name the same weakness for the purpose of agreeing.
_FAMILY: Final[dict[str, str]] = {"CWE-259": "CWE-798", "CWE-328": "CWE-327"}

# bandit test ids (ruff's S rules use the same numbers) -> CWE.
_RULE_CWE: Final[dict[str, str]] = {
    **dict.fromkeys(("102", "307"), "CWE-94"),
    **dict.fromkeys(("103",), "CWE-732"),
    **dict.fromkeys(("104", "113"), "CWE-400"),
    **dict.fromkeys(("105", "106", "107"), "CWE-259"),
    **dict.fromkeys(("108",), "CWE-377"),
    **dict.fromkeys(("110", "112"), "CWE-703"),
    **dict.fromkeys(("201",), "CWE-94"),
    **dict.fromkeys(("301", "302", "403", "506"), "CWE-502"),
    **dict.fromkeys(("303", "304", "305", "324"), "CWE-327"),
    **dict.fromkeys(("311",), "CWE-330"),
    **dict.fromkeys(("310",), "CWE-22"),
    **dict.fromkeys(("313", "314", "315", "316", "317", "318", "319", "320"), "CWE-611"),
    **dict.fromkeys(("323", "501"), "CWE-295"),
    **dict.fromkeys(("404", "602", "603", "604", "605", "606", "607", "609"), "CWE-78"),
    **dict.fromkeys(("608",), "CWE-89"),
    **dict.fromkeys(("701", "702", "704"), "CWE-79"),
}
# The weaknesses whose sink a quote must show: a word of the sink, case-insensitive.
_SINKS: Final[dict[str, tuple[str, ...]]] = {
    "CWE-78": ("subprocess", "system", "popen", "shell", "spawn", "exec", "call", "run"),
    "CWE-89": ("execute", "select", "insert", "update", "delete", "query", "sql", "raw"),
    "CWE-94": ("eval", "exec", "compile", "debug", "__import__"),
    "CWE-502": ("pickle", "yaml", "marshal", "shelve", "load", "dill"),
    "CWE-259": ("pass", "pwd", "secret", "token", "key", "cred"),
    "CWE-798": ("pass", "pwd", "secret", "token", "key", "cred", "auth"),
    "CWE-22": ("open", "path", "file", "join", "send", "read", "write"),
    "CWE-79": ("html", "render", "markup", "safe", "autoescape", "response", "write"),
    "CWE-918": ("request", "get", "post", "urlopen", "fetch", "http", "url"),
}
_IMPORT = re.compile(r"^(import\s|from\s+\S+\s+import\s)")
_CWE_ID = re.compile(r"^CWE-(\d{1,4})$", re.IGNORECASE)
QUOTE_MAX = 200
FLOW_MAX = 300


def rule_cwe(source: str, rule: str) -> str:
    """The CWE of a static rule (bandit ``B602``, ruff ``S602``, taint ``CWE-78``), or ''."""
    if source == "taint":
        return rule
    if source in ("bandit", "ruff") and rule[:1] in ("B", "S") and rule[1:].isdigit():
        return _RULE_CWE.get(rule[1:], "")
    return ""


def family(cwe: str) -> str:
    """The id two findings must share to agree."""
    return _FAMILY.get(cwe, cwe)


def normalise_cwe(raw: Any) -> str | None:
    """``CWE-78`` from ``cwe-078`` or ``78``; None when it is not in :data:`CWES`."""
    text = str(raw).strip()
    match = _CWE_ID.match(text) or _CWE_ID.match(f"CWE-{text}")
    if match is None:
        return None
    cwe = f"CWE-{int(match.group(1))}"
    return cwe if cwe in CWES else None


def _squash(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True)
class Dropped:
    """A model finding that could not be verified, and why."""

    file: str
    line: int
    cwe: str
    message: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _quoted_in(quote: str, window: str) -> bool:
    """``quote`` occurs in ``window`` without cutting a name in two."""
    before = r"(?<![\w])" if quote[0].isalnum() or quote[0] == "_" else ""
    after = r"(?![\w])" if quote[-1].isalnum() or quote[-1] == "_" else ""
    return re.search(before + re.escape(quote) + after, window) is not None


def _sentences(text: str) -> int:
    return len([s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s])


def _check(item: Mapping[str, Any], lines: Sequence[str]) -> str | None:
    """Why ``item`` cannot be verified against ``lines``, or None."""
    line = item.get("line")
    if not isinstance(line, int) or not 1 <= line <= len(lines):
        return f"line {line} does not exist (the file has {len(lines)} lines)"
    quote = _squash(str(item.get("quote") or ""))
    if len(quote) < 3:
        return "no code quoted"
    window = _squash(" ".join(lines[max(0, line - 2) : line + 1]))
    if not _quoted_in(quote, window):
        return f"the quoted code is not at line {line}"
    cwe = normalise_cwe(item.get("cwe", ""))
    if cwe is None:
        return f"{item.get('cwe')!r} is not a CWE id of the review's list"
    if _IMPORT.match(quote):
        return "an import statement is not a sink"
    sinks = _SINKS.get(family(cwe) if cwe not in _SINKS else cwe, ())
    if sinks and not any(word in quote.lower() for word in sinks):
        return f"the quoted code shows no {cwe} sink"
    flow = str(item.get("flow") or "").strip()
    if len(flow) < 15 or len(flow) > FLOW_MAX or _sentences(flow) > 2:
        return "no data flow from source to sink in one or two sentences"
    return None


def _agreeing(file: str, line: int, cwe: str, static: Iterable[Finding]) -> Finding | None:
    for f in static:
        if f.file == file and abs(f.line - line) <= 1 and f.cwe and family(f.cwe) == family(cwe):
            return f
    return None


def ground(
    items: Iterable[Mapping[str, Any]], file: str, text: str, static: Sequence[Finding]
) -> tuple[list[Finding], list[Dropped]]:
    """The model's ``items`` for ``file`` (content ``text``) that the file bears out, and the
    dropped ones; ``static`` are the static findings (ruff, bandit, taint) to confirm with."""
    lines = text.splitlines()
    kept: list[Finding] = []
    dropped: list[Dropped] = []
    for item in items:
        message = str(item.get("message") or "")
        why = _check(item, lines)
        if why is not None:
            raw_line = item.get("line")
            line = raw_line if isinstance(raw_line, int) else 0
            dropped.append(Dropped(file, line, str(item.get("cwe", "")), message, why))
            continue
        cwe = normalise_cwe(item["cwe"]) or ""
        severity: Severity = item.get("severity", "medium")
        if severity not in SEVERITIES:
            severity = "medium"
        agrees = _agreeing(file, int(item["line"]), cwe, static)
        if agrees is not None:
            how = f"{agrees.source}:{agrees.rule} at line {agrees.line}"
        else:
            how = ""
            if SEVERITIES.index(severity) > SEVERITIES.index("medium"):
                severity = "medium"  # the model alone never says high or critical
        kept.append(
            Finding(
                file=file,
                line=int(item["line"]),
                severity=severity,
                message=message or CWES[cwe],
                suggestion=str(item.get("suggestion") or ""),
                source="model",
                rule=cwe,
                cwe=cwe,
                quote=_squash(str(item["quote"]))[:QUOTE_MAX],
                flow=str(item["flow"]).strip(),
                confirmed_by=how,
            )
        )
    return kept, dropped
