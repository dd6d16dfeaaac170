"""The records commands: vru serve, users, audit verify, register import/export/template."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import uvicorn
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from vru.adapters.records.engine import normalise_url
from vru.adapters.records.migrate import head_revision
from vru.domain.register.cases import TEMPLATE_COLUMNS
from vru.interfaces.cli.main import app
from vru.services.register import synthetic_register

from .conftest import PASSWORD


@pytest.fixture()
def env(tmp_path: Path, database_url: str) -> dict[str, str]:
    return {
        "VRU_DATA_DIR": str(tmp_path / "data"),
        "VRU_DATABASE_URL": database_url,
        "VRU_SECRET_KEY": "cli-tests-only-5d2c8e1a9f4b7e3c6a0d9f8e7b6c5a4d",
        "VRU_ARGON2_MEMORY_KIB": "19456", "VRU_ARGON2_PASSES": "2", "VRU_ARGON2_LANES": "1",
    }


def run(env: dict[str, str], *args: str, stdin: str | None = None) -> Any:
    return CliRunner().invoke(app, list(args), env=env, input=stdin)


def test_users_lifecycle(env: dict[str, str]) -> None:
    made = run(env, "users", "create", "rita", "--role", "case_reviewer",
               "--password-stdin", stdin=PASSWORD + "\n")
    assert made.exit_code == 0, made.output
    assert "otpauth://totp/" in made.output and "setup key" in made.output
    refused = run(env, "users", "create", "ann", "--role", "analyst", "--password-stdin",
                  stdin="password123\n")
    assert refused.exit_code == 1 and "commonly used" in refused.output
    assert run(env, "users", "create", "ann", "--role", "analyst", "--password-stdin",
               stdin=PASSWORD + "\n").exit_code == 0
    listed = json.loads(run(env, "users", "list", "--json").output)
    assert [(u["username"], u["role"], u["has_totp"]) for u in listed] == [
        ("ann", "analyst", False), ("rita", "case_reviewer", True)]
    assert run(env, "users", "disable", "ann").exit_code == 0
    assert run(env, "users", "list").exit_code == 0
    assert run(env, "users", "disable", "nobody").exit_code == 1
    reset = run(env, "users", "reset-password", "rita", "--new-totp", "--password-stdin",
                stdin="a different good passphrase\n")
    assert reset.exit_code == 0 and "otpauth://" in reset.output


def test_audit_verify_passes_then_names_a_tampered_entry(env: dict[str, str]) -> None:
    run(env, "users", "create", "ann", "--role", "analyst", "--password-stdin",
        stdin=PASSWORD + "\n")
    ok = run(env, "audit", "verify")
    assert ok.exit_code == 0 and "intact: 1 entries" in ok.output and "Anchor" in ok.output
    engine = create_engine(normalise_url(env["VRU_DATABASE_URL"]))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
        conn.execute(text("UPDATE audit_log SET action = 'user.nothing' WHERE seq = 1"))
    engine.dispose()
    broken = run(env, "audit", "verify", "--json")
    assert broken.exit_code == 1
    report = json.loads(broken.output)
    assert report["ok"] is False and report["bad_seq"] == 1


def test_register_files(env: dict[str, str], tmp_path: Path) -> None:
    template = tmp_path / "template.xlsx"
    assert run(env, "register", "template", str(template)).exit_code == 0
    cases, _ = synthetic_register(15, seed=4)
    rows = [{"reference": c.reference.replace("SYN", "T"), "year": c.year, "borough": c.borough,
             "review_type": c.review_type, "review_status": c.review_status}
            for c in cases]
    good = tmp_path / "cases.csv"
    pd.DataFrame(rows, columns=list(TEMPLATE_COLUMNS)).to_csv(good, index=False)
    bad = tmp_path / "bad.csv"
    pd.DataFrame([{**rows[0], "year": "soon"}], columns=list(TEMPLATE_COLUMNS)).to_csv(
        bad, index=False)
    refused = run(env, "register", "import", str(bad))
    assert refused.exit_code == 1 and "nothing was imported" in refused.output
    imported = run(env, "register", "import", str(good))
    assert imported.exit_code == 0 and "imported 15 cases" in imported.output
    out = tmp_path / "export.csv"
    exported = run(env, "register", "export", str(out))
    assert exported.exit_code == 0 and out.read_text(encoding="utf-8-sig").count("\n") == 16
    assert run(env, "register", "export", str(tmp_path / "x.txt")).exit_code == 2
    assert run(env, "register", "synthetic", "--cases", "20").exit_code == 0
    summary = json.loads(run(env, "register", "summary").output)
    assert summary["synthetic_cases_included"] is True


def test_serve_migrates_first_and_listens_on_loopback(
        env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake_run(application: Any, **kw: Any) -> None:
        seen.update(kw, app=application)

    monkeypatch.setattr(uvicorn, "run", fake_run)
    result = run(env, "serve", "--port", "8123")
    assert result.exit_code == 0, result.output
    assert seen["host"] == "127.0.0.1" and seen["port"] == 8123
    assert seen["app"].title == "vru records service"
    engine = create_engine(normalise_url(env["VRU_DATABASE_URL"]))
    with engine.connect() as conn:
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert version == head_revision()
    engine.dispose()
    unsafe = run({**env, "VRU_SECRET_KEY": "changethis"}, "serve")
    assert unsafe.exit_code == 2 and "placeholder" in unsafe.output
