"""Write docs/critique-rules.md from the rules in the code (tests check that it is current).

Usage::

    python scripts/write_rules_doc.py
"""

from __future__ import annotations

from pathlib import Path

from kneeback.report.rules_doc import rules_markdown

DOC = Path(__file__).resolve().parents[1] / "docs" / "critique-rules.md"


def main() -> int:
    DOC.write_text(rules_markdown(), encoding="utf-8")
    print(f"Wrote {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
