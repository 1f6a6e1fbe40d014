"""`GET /`: the root info elasticsearch-py and eland read to decide they talk to Elasticsearch 9."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends, Response

from inferd.api.privileges import Privilege, require_privilege
from inferd.api.state import State
from inferd.build_info import build_info

router = APIRouter()

# The Elasticsearch release whose API inferd speaks (eland 9 refuses majors below 9).
ELASTICSEARCH_VERSION = {
    "number": "9.2.0",
    "build_flavor": "default",
    "build_type": "tar",
    "build_hash": "25d88452371273dd27356c98598287b669a03eae",
    "build_date": "2025-10-21T10:06:21.288851013Z",
    "build_snapshot": False,
    "lucene_version": "10.3.1",
    "minimum_wire_compatibility_version": "8.19.0",
    "minimum_index_compatibility_version": "8.0.0",
}


# Elasticsearch's main action, granted by `monitor` (not by the ML privileges), as there.
MAIN = [Depends(require_privilege(Privilege.MONITOR, "cluster:monitor/main"))]


@router.get("/", dependencies=MAIN)
def info(state: State) -> dict[str, Any]:
    return {
        "name": state.node_name,
        "cluster_name": "inferd",
        "cluster_uuid": state.cluster_uuid,
        "version": ELASTICSEARCH_VERSION,
        "tagline": "You Know, for Search",
        # inferd-only, as on the trained model configs: `version` above is the Elasticsearch API inferd speaks.
        "inferd": asdict(build_info()),
    }


@router.head("/", dependencies=MAIN)
def ping() -> Response:
    return Response(status_code=200, media_type="application/json")
