"""Development server: uvicorn with auto-reload. Production runs gunicorn (gunicorn.py.ini)."""

import uvicorn

from app.core.settings import get_settings

if __name__ == "__main__":
    settings = get_settings()
    uvicorn.run(
        "main:app",
        host=settings.api_host,
        port=settings.api_port,
        reload=True,
        proxy_headers=True,
        access_log=False,
    )
