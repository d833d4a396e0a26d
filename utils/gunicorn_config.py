"""gunicorn's configuration, gunicorn.py.ini, as an importable module.

Start gunicorn with `python -m gunicorn -c python:utils.gunicorn_config main:app`. The settings
stay in gunicorn.py.ini (plain Python; the project's layout names the file). Given a file path,
gunicorn loads it whatever its name but prints "configuration file should have a valid Python
extension" at every start; given `python:<module>` (its documented way to take the settings
from a module) it imports the module and reads its names, and has nothing to warn about. This
module runs the file and exposes what it defines. `python -m` puts the working directory on
sys.path, so `utils` is importable before gunicorn adds it.
"""

from __future__ import annotations

import runpy
from pathlib import Path

CONFIG_FILE = Path(__file__).resolve().parent.parent / "gunicorn.py.ini"

globals().update(
    (name, value)
    for name, value in runpy.run_path(str(CONFIG_FILE), run_name=__name__).items()
    if not name.startswith("__")  # this module keeps its own __name__, __file__, __doc__
)
