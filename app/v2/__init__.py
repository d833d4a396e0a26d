"""API v2: evolves the hello contract; everything else is unchanged from v1."""

from app.v2 import hello as v2_hello
from app.versioning import api_version

router = api_version("v2", v2_hello.router)
