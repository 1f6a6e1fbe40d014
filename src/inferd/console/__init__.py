"""The web console: its page, scripts, styles and vendored libraries, served as they are (no build step) by
`api/routes/console.py`. `static/vendor/README.md` says where each vendored file came from."""

from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
PAGE = STATIC_DIR / "index.html"
