"""API v2: evolves the hello contract; everything else is unchanged from v1."""

from app.api.v2 import hello
from app.http.versioning import api_version

router = api_version("v2", hello.router)
