"""Pure ASGI middleware for Elasticsearch's HTTP conventions, one concern per module."""

from inferd.api.middleware.authentication import AuthenticationMiddleware, AuthenticatorSlot
from inferd.api.middleware.body_limit import BodyLimitMiddleware
from inferd.api.middleware.console_redirect import ConsoleRedirectMiddleware
from inferd.api.middleware.product_header import ProductHeaderMiddleware
from inferd.api.middleware.response_format import ResponseFormatMiddleware

__all__ = [
    "AuthenticationMiddleware",
    "AuthenticatorSlot",
    "BodyLimitMiddleware",
    "ConsoleRedirectMiddleware",
    "ProductHeaderMiddleware",
    "ResponseFormatMiddleware",
]
