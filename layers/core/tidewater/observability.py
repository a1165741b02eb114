"""The one Logger and Metrics of the process.

Logs and metrics carry ids and counts only: never glucose values, names, device serials or
raw bodies. There is no Tracer: the template's `Tracing: Active` gives every invocation an
X-Ray segment, and the X-Ray SDK would add ~150 ms to each cold start.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

logger = Logger(service="tidewater")
metrics = Metrics(namespace="Tidewater", service="tidewater")
