"""Locust users for bench/load.py: the portal's real mix of work.

- Visitor: the public dashboards, key steps, plan list and a public plan, metrics API.
- Commissioner (API token): reads a plan and its actions and edits an action's progress with
  If-Match (a 412 from a concurrent edit is the portal working as designed, counted apart).
- Reader (API token): lists plans, indicators and contracts.
- Provider (API token): submits a small CSV of values (imported inline).

Everything else is a failure. Settings come from the environment bench/load.py sets.
"""

from __future__ import annotations

import json
import os
import random

from locust import FastHttpUser, between, task

INDICATOR = os.environ["LOAD_INDICATOR"]
PLAN = os.environ["LOAD_PLAN"]
ACTIONS = [int(a) for a in os.environ["LOAD_ACTIONS"].split(",")]
COMMISSIONER_TOKEN = os.environ["LOAD_COMMISSIONER_TOKEN"]
PROVIDER_TOKEN = os.environ["LOAD_PROVIDER_TOKEN"]
SUBMIT_INDICATOR = os.environ["LOAD_SUBMIT_INDICATOR"]
BOROUGHS = os.environ["LOAD_BOROUGHS"].split(",")


def _ok(response, *allowed: int) -> None:
    if response.status_code not in (allowed or (200,)):
        response.failure(f"status {response.status_code}: {response.text[:200]}")
    else:
        response.success()


class Visitor(FastHttpUser):
    weight = 6
    wait_time = between(0, 0.2)

    @task(3)
    def overview(self) -> None:
        with self.client.get(f"/dashboards/?indicator={INDICATOR}", name="page: dashboard", catch_response=True) as r:
            _ok(r)

    @task(2)
    def plan(self) -> None:
        with self.client.get(f"/plans/{PLAN}/", name="page: public plan", catch_response=True) as r:
            _ok(r)

    @task(1)
    def key_steps(self) -> None:
        with self.client.get("/key-steps/", name="page: key steps", catch_response=True) as r:
            _ok(r)

    @task(1)
    def metrics_api(self) -> None:
        with self.client.get(
            f"/api/v1/metrics/?indicator={INDICATOR}", name="api: metrics (anonymous)", catch_response=True
        ) as r:
            _ok(r)


class Commissioner(FastHttpUser):
    weight = 2
    wait_time = between(0, 0.5)

    def on_start(self) -> None:
        self.headers = {"Authorization": f"Token {COMMISSIONER_TOKEN}"}

    @task(3)
    def read_plan(self) -> None:
        with self.client.get(
            f"/api/v1/plans/{PLAN}/", headers=self.headers, name="api: plan", catch_response=True
        ) as r:
            _ok(r)

    @task(2)
    def edit_action(self) -> None:
        action = random.choice(ACTIONS)
        with self.client.get(
            f"/api/v1/actions/{action}/", headers=self.headers, name="api: action", catch_response=True
        ) as r:
            _ok(r)
            etag = r.headers.get("ETag", "")
        body = json.dumps({"progress": random.randint(0, 100)})
        with self.client.patch(
            f"/api/v1/actions/{action}/",
            data=body,
            headers={**self.headers, "If-Match": etag, "Content-Type": "application/json"},
            name="api: edit action (If-Match)",
            catch_response=True,
        ) as r:
            _ok(r, 200, 412)


class Reader(FastHttpUser):
    weight = 2
    wait_time = between(0, 0.2)

    def on_start(self) -> None:
        self.headers = {"Authorization": f"Token {COMMISSIONER_TOKEN}"}

    @task
    def lists(self) -> None:
        for path, name in (
            ("/api/v1/plans/", "api: plans"),
            ("/api/v1/indicators/", "api: indicators"),
            ("/api/v1/contracts/", "api: contracts"),
        ):
            with self.client.get(path, headers=self.headers, name=name, catch_response=True) as r:
                _ok(r)


class Provider(FastHttpUser):
    weight = 1
    wait_time = between(0.5, 1.0)

    def on_start(self) -> None:
        self.headers = {"Authorization": f"Token {PROVIDER_TOKEN}", "Content-Type": "text/csv"}

    @task
    def submit(self) -> None:
        month = random.randint(1, 12)
        rows = ["indicator_code,borough_code,period,numerator,denominator"]
        rows += [f"{SUBMIT_INDICATOR},{b},2024-{month:02d},{random.randint(0, 40)},40" for b in BOROUGHS]
        with self.client.post(
            "/api/v1/submissions/", data="\n".join(rows), headers=self.headers, name="api: submission",
            catch_response=True,
        ) as r:  # fmt: skip
            _ok(r, 201)


class Trivial(FastHttpUser):
    """The ceiling: only the trivial view (used alone, in its own phase)."""

    wait_time = between(0, 0)

    @task
    def health(self) -> None:
        with self.client.get("/health/", name="trivial: /health/", catch_response=True) as r:
            _ok(r)
