"""The gateway check (optional part): nginx's `auth_request` asks GET /auth/verify, and the
services behind nginx get the caller's identity as headers, never the session."""
