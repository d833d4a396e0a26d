"""API v1. To retire it: `api_version("v1", ..., deprecation=Deprecation(...))`."""

from app.v1 import hello as v1_hello
from app.v1 import users as v1_users
from app.versioning import api_version

router = api_version("v1", v1_hello.router, v1_users.router)
