"""What the teacher cost: requests, cache hits, retries, failures, tokens and money, per purpose
(generation, judge, fill, ...). Saved as JSON beside a run's outputs and added to on resume."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass
class Account:
    requests: int = 0  # answered by the endpoint (paid)
    cached: int = 0  # answered from the cache (free)
    retries: int = 0
    failures: int = 0  # gave up after the retries
    structured_fallbacks: int = 0  # the endpoint refused the JSON schema; asked again without it
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    seconds: float = 0.0  # summed request latency (not wall time)


class Ledger:
    def __init__(self, price_in: float = 0.0, price_out: float = 0.0) -> None:
        self.price_in, self.price_out = price_in, price_out
        self.accounts: dict[str, Account] = defaultdict(Account)

    def paid(self, purpose: str, prompt_tokens: int, completion_tokens: int, seconds: float) -> None:
        account = self.accounts[purpose]
        account.requests += 1
        account.prompt_tokens += prompt_tokens
        account.completion_tokens += completion_tokens
        account.cost_usd += (prompt_tokens * self.price_in + completion_tokens * self.price_out) / 1e6
        account.seconds += seconds

    def total(self) -> Account:
        total = Account()
        for account in self.accounts.values():
            for key, value in asdict(account).items():
                setattr(total, key, getattr(total, key) + value)
        return total

    def to_json(self) -> dict[str, Any]:
        return {"by_purpose": {k: asdict(v) for k, v in sorted(self.accounts.items())},
                "total": asdict(self.total()),
                "prices_per_million": {"input": self.price_in, "output": self.price_out}}

    def save(self, path: str | Path, *, add_to_existing: bool = True) -> dict[str, Any]:
        """Writes this run's accounts (added to what an earlier run of the same folder recorded)."""
        path = Path(path)
        merged = Ledger(self.price_in, self.price_out)
        if add_to_existing and path.exists():
            try:
                old = json.loads(path.read_text(encoding="utf-8")).get("by_purpose", {})
            except (OSError, json.JSONDecodeError):
                old = {}
            for purpose, values in old.items():
                merged.accounts[purpose] = Account(**{k: v for k, v in values.items() if k in Account.__annotations__})
        for purpose, account in self.accounts.items():
            target = merged.accounts[purpose]
            for key, value in asdict(account).items():
                setattr(target, key, getattr(target, key) + value)
        data = merged.to_json()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2), encoding="utf-8")
        return data
