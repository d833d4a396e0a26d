"""Cache-Control values the app sends; nginx's micro-cache honours them."""

from typing import Final

# Test data is identical for everyone: browsers and nginx may keep it for a few seconds.
PUBLIC_SHORT: Final = "public, max-age=5"
# Anything tied to a session, and every error, must never be stored by a proxy or browser.
NO_STORE: Final = "no-store"
NO_STORE_HEADERS: Final = {"Cache-Control": NO_STORE}
