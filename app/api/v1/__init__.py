"""API v1. To retire it: `api_version("v1", ..., deprecation=Deprecation(...))`."""

from app.accounts import router as accounts
from app.api.v1 import hello
from app.http.versioning import api_version
from app.user import router as user

router = api_version(
    "v1",
    hello.router,
    user.search_router,
    accounts.router,
    accounts.admin_router,
)
