"""What a doctor check finds, and the two ways of printing the findings (a human report, a JSON document)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Literal

Status = Literal["ok", "warn", "fail"]

_RANK: dict[Status, int] = {"ok": 0, "warn": 1, "fail": 2}
_MARKS: dict[Status, str] = {"ok": "✓", "warn": "!", "fail": "✗"}
_ASCII_MARKS: dict[Status, str] = {"ok": "ok", "warn": " !", "fail": " X"}


@dataclass(frozen=True, slots=True)
class Finding:
    """One check's result: ``fix`` says what to do, and is ``None`` when there is nothing to do."""

    name: str
    status: Status
    message: str
    fix: str | None = None


def ok(name: str, message: str) -> Finding:
    return Finding(name, "ok", message)


def warn(name: str, message: str, fix: str) -> Finding:
    return Finding(name, "warn", message, fix)


def fail(name: str, message: str, fix: str) -> Finding:
    return Finding(name, "fail", message, fix)


def worst(statuses: Iterable[Status]) -> Status:
    return max(statuses, key=_RANK.__getitem__, default="ok")


def combine(name: str, parts: Sequence[Finding]) -> Finding:
    """One finding from several about the same subject: the worst status, the messages and fixes joined."""
    status = worst(p.status for p in parts)
    message = "; ".join(p.message for p in parts)
    fixes = [p.fix for p in parts if p.fix]
    return Finding(name, status, message, " ".join(fixes) if fixes else None)


def passed(findings: Sequence[Finding]) -> bool:
    """No check failed (warnings allowed)."""
    return all(f.status != "fail" for f in findings)


def to_json(findings: Sequence[Finding]) -> str:
    return json.dumps({"checks": [asdict(f) for f in findings], "ok": passed(findings)}, indent=2, ensure_ascii=False)


def to_text(findings: Sequence[Finding], *, header: str, encoding: str | None = "utf-8") -> str:
    """One line per check (✓ ok, ! warning, ✗ failed) with, under a problem, what to do; then a summary line.
    ``encoding`` is the terminal's: one that cannot show the marks gets ASCII ones."""
    marks = _MARKS
    try:
        "".join(_MARKS.values()).encode(encoding or "utf-8")
    except (UnicodeEncodeError, LookupError):
        marks = _ASCII_MARKS
    lines = [header]
    for f in findings:
        lines.append(f"{marks[f.status]} {f.name}: {f.message}")
        if f.fix:
            lines.append(f"    -> {f.fix}")
    failed = sum(f.status == "fail" for f in findings)
    warned = sum(f.status == "warn" for f in findings)
    if failed:
        lines.append(f"{failed} check(s) failed, {warned} warning(s): fix the failures above, then run doctor again.")
    elif warned:
        lines.append(f"Ready, with {warned} warning(s).")
    else:
        lines.append("Ready: every check passed.")
    return "\n".join(lines) + "\n"
