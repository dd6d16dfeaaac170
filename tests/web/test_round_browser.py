"""A browser (playwright-core driving Debian's chromium) walks a whole round through the
pages: create (after a refused empty form), open, apply (after a refused bad amount), score
by two assessors, moderate, allocate, publish; then a visitor reads the public page, with
its map and no personal data, and downloads the 360Giving file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import PASSWORD, Server

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("round_walk.mjs")
CHROMIUM = os.environ.get("VRU_CHROMIUM", "/usr/bin/chromium")


def _missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not Path(CHROMIUM).exists():
        return f"no chromium at {CHROMIUM} (apt-get install -y chromium)"
    if not (REPO / "node_modules" / "playwright-core").is_dir():
        return "playwright-core is not installed (make setup: npm ci)"
    return None


@pytest.mark.skipif(_missing() is not None, reason=str(_missing()))
def test_a_whole_round_in_the_browser(site: tuple[Server, Path], tmp_path: Path) -> None:
    server, decision = site
    shots = Path(os.environ.get("VRU_WALK_SCREENSHOTS", tmp_path / "screens"))
    done = subprocess.run(
        ["node", str(SCRIPT), server.url, str(decision), str(shots)], cwd=REPO,
        env={**os.environ, "VRU_WALK_PASSWORD": PASSWORD, "VRU_CHROMIUM": CHROMIUM},
        capture_output=True, text=True, timeout=300, check=False)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    assert lines, f"no result from the browser script: {done.stdout}\n{done.stderr}"
    result = json.loads(lines[-1])
    assert result["ok"], result.get("error", "") + "\n" + "\n".join(result["steps"])
    steps = "\n".join(result["steps"])
    for step in ("round created", "three applications entered", "scored by two assessors",
                 "moderated", "allocated", "published", "public page read"):
        assert step in steps
    assert all(g.startswith("360G-vru-walk-fund-2026-") for g in result["grants"])
