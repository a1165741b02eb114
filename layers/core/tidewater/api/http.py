"""The HTTP resolver every HTTP function starts from."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from tidewater.api.errors import register_error_handlers


def make_app() -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver()
    register_error_handlers(app)
    return app
