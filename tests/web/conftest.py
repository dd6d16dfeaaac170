"""Web page tests: the app served by uvicorn on a free loopback port (for the browser) or
through a TestClient, over a records database in a temporary folder, with users for each
part of a round and an evidence store holding London's boundaries (for the public map)."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from vru.adapters.records.dal import Records
from vru.adapters.records.engine import make_engine
from vru.adapters.records.migrate import upgrade
from vru.adapters.store.evidence_store import EvidenceStore
from vru.interfaces.api.app import create_app
from vru.services.fetch import fetch
from vru.services.records import RecordsService, command_line, create_user
from vru.services.security.passwords import OWASP_MINIMUM, Hasher
from vru.services.security.settings import SecuritySettings

SECRET = "web-tests-only-2b7e9d4f1a6c3e8b5d0f7a2c9e4b1d6f3a8c5e0b"
PASSWORD = "correct horse battery staple"
USERS = {"walk-manager": "commissioning_manager", "walk-assessor-one": "partner",
         "walk-assessor-two": "analyst"}
BOROUGHS = (("E09000001", "City of London"), ("E09000002", "Barking and Dagenham"),
            ("E09000003", "Barnet"))


def decision_record() -> dict[str, Any]:
    """A borough decision record on three real London boroughs (made-up counts)."""
    rising = [{"direction": "rising", "area_code": code, "area_name": name,
               "parent_code": code, "parent_name": name, "count": 500.0 * (i + 2),
               "population": 100_000.0, "explanation": f"Violence rose in {name}."}
              for i, (code, name) in enumerate(BOROUGHS)]
    return {"rule": {"name": "walk", "title": "Boroughs where violence is rising",
                     "version": 1, "description": "A test decision."},
            "parameters": {"area": "london", "to": "2025-12", "geography": "borough"},
            "decided_at": "2026-01-10T09:00:00+00:00", "record_sha256": "2" * 64,
            "result": {"rising": rising, "falling": [], "clusters": []}}


@pytest.fixture(scope="session")
def boundaries_dir(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    reuse = os.environ.get("VRU_PLACES_TEST_DATA_DIR")
    folder = Path(reuse) / "web-boundaries" if reuse else \
        tmp_path_factory.mktemp("web-evidence") / "data"
    report = fetch(EvidenceStore(folder), ["lookups", "boundaries"], area="london",
                   mirror=shared_data)
    assert report.ok, [r.message for r in report.results if r.failed]
    return folder


def service(folder: Path) -> RecordsService:
    engine = make_engine(f"sqlite+pysqlite:///{(folder / 'records.sqlite3').resolve()}")
    upgrade(engine)
    svc = RecordsService(Records(engine), SecuritySettings(
        secret_key=SECRET, argon2=OWASP_MINIMUM, cookie_secure=False), Hasher(OWASP_MINIMUM))
    for username, role in USERS.items():
        create_user(svc, command_line(), username, PASSWORD, role)
    return svc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """uvicorn in a thread, stopped on exit."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture()
def site(tmp_path: Path, boundaries_dir: Path) -> Iterator[tuple[Server, Path]]:
    svc = service(tmp_path)
    app = create_app(svc)
    app.state.data_dir = boundaries_dir
    decision = tmp_path / "decision.json"
    decision.write_text(json.dumps(decision_record()), "utf-8")
    with Server(app) as server:
        yield server, decision
    svc.close()
