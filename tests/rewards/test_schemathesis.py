"""A bounded schemathesis run over both services' OpenAPI: positive and negative data, a fixed seed and
example budget, under a memory cap. The bar: no 5xx, no status, content type or body the schema does not
document."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tests.procs import free_port, launch

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
MEMORY_CAP = 4 * 1024**3  # address space of the schemathesis process
SERVICES = {
    "reward service": ["serve", "--workers", "2", "--sandbox-url", "http://127.0.0.1:9"],
    "sandbox": ["sandbox", "--workers", "2"],
}


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


@pytest.mark.timeout(240)
@pytest.mark.parametrize("service", SERVICES)
def test_fuzzing_finds_no_server_error_and_no_schema_violation(service: str, tmp_path: Path) -> None:
    st = Path(sys.executable).with_name("st")
    with launch(SERVICES[service], free_port()) as url:
        done = subprocess.run(
            [str(st), "run", url + "/openapi.json", "--seed", "20261130", "--max-examples", "40",
             "--mode", "all", "--phases", "coverage,fuzzing", "--checks", CHECKS, "--workers", "1",
             "--request-timeout", "30", "--no-color", "--generation-database", "none"],
            capture_output=True, text=True, timeout=200, cwd=tmp_path, preexec_fn=_cap_memory)
    summary = done.stdout[-3000:]
    assert done.returncode == 0, done.stdout[-12000:] + done.stderr[-3000:]
    assert " passed" in summary and "failures" not in summary.lower(), summary
