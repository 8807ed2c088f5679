"""Real concurrent requests against a live server, for the race tests (issue 25, part 2).

``fire`` sends its requests from one thread each, released together by a barrier, to the
threaded ``live_server``; every request has its own connection and its own database
connection in the server, so the writes really overlap. ``RaceTally`` counts what the
rounds answered, so a test can assert "no 500, never two successes" over many rounds.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

import requests

from stakeholders import services as account_services


def token_headers(user) -> dict[str, str]:
    """Authorization headers for a fresh personal token of ``user``."""
    _, plain = account_services.api_token_create(actor=user, name="race test", days=1)
    return {"Authorization": f"Token {plain}"}


@dataclass(frozen=True)
class Call:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    json: object | None = None


def fire(calls: list[Call], timeout: float = 30) -> list[int]:
    """Send ``calls`` at once (one thread each); their status codes, in order."""
    barrier = threading.Barrier(len(calls))
    codes: list[int] = [0] * len(calls)

    def send(i: int, call: Call) -> None:
        with requests.Session() as session:
            barrier.wait()
            response = session.request(call.method, call.url, headers=call.headers, json=call.json, timeout=timeout)
            codes[i] = response.status_code

    threads = [threading.Thread(target=send, args=(i, call)) for i, call in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return codes


@dataclass
class RaceTally:
    rounds: int = 0
    server_errors: int = 0
    double_successes: int = 0
    codes: Counter = field(default_factory=Counter)

    def add(self, codes: list[int], *, successes: int) -> None:
        """Record one round whose ``codes`` hold ``successes`` 2xx answers that count as a win."""
        self.rounds += 1
        self.codes.update(codes)
        self.server_errors += sum(code >= 500 for code in codes)
        self.double_successes += successes > 1

    def __str__(self) -> str:
        return (
            f"{self.rounds} rounds, {self.server_errors} server errors, "
            f"{self.double_successes} double successes; answers {dict(sorted(self.codes.items()))}"
        )
