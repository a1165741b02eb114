"""The whole stack on one machine, with no Docker and no AWS account: moto's server plays
DynamoDB and S3, our HTTP front plays API Gateway, our scheduler plays EventBridge and the
summariser workflow, and the very handlers Lambda would run answer."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tidewater_local import aws, snapshot
from tidewater_local.cfn import Template
from tidewater_local.front import DRAIN_SECONDS, Gateway, HttpFront
from tidewater_local.runtime import Functions
from tidewater_local.scheduler import Scheduler


@dataclass
class StackOptions:
    template: Path
    port: int = 3000
    data_dir: Path | None = None
    schedules: bool = True
    demo: bool = False
    demo_data: bool = True
    verbose: bool = False
    # Template parameter overrides (DonationMinDonors…); the template's defaults otherwise.
    parameters: dict[str, str] = field(default_factory=dict)
    log: Callable[[str], None] = field(default=print)


class LocalStack:
    def __init__(self, options: StackOptions) -> None:
        self.options = options
        self.template = Template(options.template, parameters=options.parameters)
        self.moto = aws.MotoServer()
        self.front: HttpFront | None = None
        self.scheduler: Scheduler | None = None
        self.functions = Functions(self.template)
        self.demo_accounts: list[Any] = []
        self.demo_clinic = ""
        self.demo_donors: list[Any] = []
        self.restored: snapshot.Contents | None = None
        # Saving on stop is allowed once the snapshot (if any) is loaded: a stack that could
        # not load it must never write its empty state over the data directory.
        self._may_save = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.front.port}" if self.front else ""

    def start(self) -> None:
        endpoint = self.moto.start()
        aws.point_sdk_at(endpoint)
        refs = aws.create_resources(self.template)
        # The functions' environment is the template's, resolved for this stack.
        os.environ.update(self.template.environment({"Stage": "local", **refs}))
        os.environ.update(aws.LOCAL_REACH)
        if not self.options.verbose:
            os.environ["LOG_LEVEL"] = os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
            os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
        if self.options.data_dir:
            self.restored = snapshot.load(self.template, self.options.data_dir)
            if self.restored:
                where = self.options.data_dir / snapshot.SNAPSHOT_FILE
                self.options.log(f"restored {where}: {self.restored.describe()}")
        self._may_save = True
        if self.options.demo:  # each step makes only what is not there yet (a restart)
            from tidewater.store.repos import repositories
            from tidewater_local.demo import (
                create_demo_accounts,
                create_demo_clinic,
                create_demo_data,
                create_demo_donors,
            )

            self.demo_accounts = create_demo_accounts(repositories())
            self.demo_clinic = create_demo_clinic(repositories())
            if self.options.demo_data:
                create_demo_data(repositories())
                self.demo_donors = create_demo_donors(repositories())
        schedules = self.template.schedules()
        # `tidewater invoke NAME` sends what the function's first schedule sends (the
        # export's daily run, not its frequent withdrawals-only one).
        scheduled: dict[str, dict[str, Any]] = {}
        for s in schedules:
            scheduled.setdefault(self.functions.specs[s.function].name, s.payload)
        gateway = Gateway(self.functions, scheduled)
        self.front = HttpFront(gateway, self.options.port, quiet=not self.options.verbose)
        self.front.start()
        if self.options.schedules:
            self.scheduler = Scheduler(schedules, self.functions.invoke, self._schedule_failed)
            self.scheduler.start()

    def _schedule_failed(self, function: str, error: Exception) -> None:
        self.options.log(f"scheduled {function} failed: {type(error).__name__}")

    def invoke(self, name: str, payload: dict[str, Any] | None = None) -> Any:
        logical_id = self.functions.by_name(name)
        if logical_id is None:
            raise KeyError(name)
        return self.functions.invoke(logical_id, payload or {})

    def stop(self) -> None:
        """Stop accepting requests and firing schedules, let what is under way finish (for
        DRAIN_SECONDS at most), then save the snapshot: every answered request is in it."""
        deadline = time.monotonic() + DRAIN_SECONDS
        if self.scheduler:
            self.scheduler.stop(timeout=0)  # no run starts from now; one under way goes on
        if self.front:
            running = self.front.stop(deadline)
            if running:
                self.options.log(f"{running} request(s) still running after {DRAIN_SECONDS} s")
        if self.scheduler:
            self.scheduler.stop(timeout=max(0.0, deadline - time.monotonic()))
        try:
            if self.options.data_dir and self._may_save:
                where = self.options.data_dir / snapshot.SNAPSHOT_FILE
                self.options.log(f"saving {where} (the previous one stays until it is complete)")
                saved = snapshot.save(self.template, self.options.data_dir)
                self.options.log(f"saved {where}: {saved.describe()}")
        finally:
            self.moto.stop()
