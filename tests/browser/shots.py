"""Screenshots for a person to look at: written only when BROWSER_SHOTS names a folder."""

import os
from pathlib import Path

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def shoot(page, name):
    folder = os.environ.get("BROWSER_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)
