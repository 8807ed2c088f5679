"""Locust users for bench/dashboard_load.py: each phase hits one path (LOAD_PATH) as fast as it can."""

from __future__ import annotations

import os

from locust import FastHttpUser, constant, task

PATH = os.environ.get("LOAD_PATH", "/health/")
NAME = os.environ.get("LOAD_NAME", PATH)


class Visitor(FastHttpUser):
    wait_time = constant(0)

    @task
    def page(self) -> None:
        with self.client.get(PATH, name=NAME, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
