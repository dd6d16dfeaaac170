"""A browser (playwright-core driving Debian's chromium) walks the register's pages as a
case reviewer: signs in with a one-time code, lists and filters cases, views one, is refused
an empty coding form, codes the case and opens the analysis."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from vru.domain.register.cases import CaseRecord
from vru.interfaces.api.app import create_app
from vru.services import register as reg
from vru.services.records import command_line, create_user
from vru.services.security import totp

from .conftest import PASSWORD, Server, service
from .test_round_browser import CHROMIUM, REPO, _missing

SCRIPT = Path(__file__).with_name("register_walk.mjs")


@pytest.mark.skipif(_missing() is not None, reason=str(_missing()))
def test_a_case_reviewer_codes_a_case_in_the_browser(tmp_path: Path) -> None:
    svc = service(tmp_path)
    cli = command_line()
    secret = create_user(svc, cli, "walk-reviewer", PASSWORD, "case_reviewer").totp_secret
    assert secret
    for ref, year, borough in (("W-1", 2022, "Hackney"), ("W-2", 2021, "Camden"),
                               ("W-3", 2020, "Brent")):
        reg.create_case(svc, cli, CaseRecord(ref, year, borough, "owhr", "notified",
                                             method="knife_or_sharp_instrument"))
    shots = Path(os.environ.get("VRU_WALK_SCREENSHOTS", tmp_path / "screens"))
    with Server(create_app(svc)) as server:
        done = subprocess.run(
            ["node", str(SCRIPT), server.url, str(shots)], cwd=REPO,
            env={**os.environ, "VRU_WALK_USER": "walk-reviewer",
                 "VRU_WALK_PASSWORD": PASSWORD, "VRU_CHROMIUM": CHROMIUM,
                 "VRU_WALK_CODE": totp.code_at(secret, svc.now())},
            capture_output=True, text=True, timeout=300, check=False)
    svc.close()
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    assert lines, f"no result from the browser script: {done.stdout}\n{done.stderr}"
    result = json.loads(lines[-1])
    assert result["ok"], result.get("error", "") + "\n" + "\n".join(result["steps"])
    for step in ("signed in", "cases listed and filtered", "case viewed",
                 "empty coding refused", "case coded", "analysis opened"):
        assert step in "\n".join(result["steps"])
    coding = reg.get_case(svc, cli, reg.list_cases(svc, cli, year=2021)["items"][0]["id"])
    assert coding["codings"][0]["factors"]["ace_abuse"] is True
