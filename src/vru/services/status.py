"""Use case: what the evidence store holds, dataset by dataset."""

from __future__ import annotations

import json
from typing import Any

from vru.adapters.store.evidence_store import EvidenceStore


def store_status(store: EvidenceStore) -> dict[str, Any]:
    """Datasets (records, files, period), and every import with its row accounting."""
    imports = store.imports()
    con = store.connect()
    datasets: list[dict[str, Any]] = []
    try:
        for dataset, files in sorted(store.dataset_files().items()):
            rows = con.execute(f'SELECT count(*) FROM "{dataset}"').fetchone()
            period = con.execute(
                "SELECT min(i.period_start), max(i.period_end), list(DISTINCT i.format) "
                "FROM import_files f JOIN imports i USING (import_id) WHERE f.dataset = ?",
                [dataset]).fetchone()
            datasets.append({
                "dataset": dataset,
                "records": int(rows[0]) if rows else 0,
                "files": len(files),
                "period_start": period[0] if period else None,
                "period_end": period[1] if period else None,
                "formats": sorted(period[2]) if period and period[2] else [],
            })
    finally:
        con.close()
    return {
        "data_dir": str(store.data_dir),
        "datasets": datasets,
        "imports": [
            {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in i.items()
             if k != "meta"} | {"meta": json.loads(i["meta"])}
            for i in imports
        ],
        "totals": {
            "imports": len(imports),
            "rows_read": sum(i["rows_read"] for i in imports),
            "rows_stored": sum(i["rows_stored"] for i in imports),
            "rows_rejected": sum(i["rows_rejected"] for i in imports),
        },
    }
