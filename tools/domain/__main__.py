"""`python -m tools.domain NAME [--singular WORD]`: see tools/domain/generate.py."""

from tools.domain.generate import main

if __name__ == "__main__":
    raise SystemExit(main())
