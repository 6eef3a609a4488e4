"""Every limit a user can hit is documented where the README promises: variable and default."""

from __future__ import annotations

from pathlib import Path

from nasvl.config.limits import LIMITS

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_limit_is_in_the_readme_table() -> None:
    text = README.read_text(encoding="utf-8")
    missing = [limit.env for limit in LIMITS.values() if f"| `{limit.env}` | {limit.default:,} |" not in text]
    assert not missing, f"README's limits table lacks (or has another default for): {missing}"
