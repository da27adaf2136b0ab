"""A real ``dagster dev`` (webserver + daemon) in a temporary DAGSTER_HOME, for the operations tests.

The instance is configured from ``deploy/dagster.yaml`` (the one ``make ui`` uses: pools with one
slot per DuckDB pool at op granularity, 4 concurrent runs), the DuckDB file is a temporary one.
Used by the parallel-backfill test and the browser end-to-end test.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DEPLOY_YAML = ROOT / "deploy" / "dagster.yaml"

RUN_STATUS_QUERY = """
query RunStatus($runId: ID!) {
  runOrError(runId: $runId) { __typename ... on Run { runId status tags { key value } } }
}
"""
LAUNCH = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message stack }
    ... on InvalidSubsetError { message }
    ... on UnauthorizedError { message }
  }
}
"""
BACKFILL = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) { __typename ... on PartitionBackfill { status } }
}
"""
RUNS_QUERY = """
query Runs { runsOrError(limit: 200) { __typename ... on Runs { results { runId status tags { key value } } } } }
"""
REPOSITORIES = """
query Repos { repositoriesOrError { __typename ... on RepositoryConnection { nodes { name location { name } } } } }
"""
SENSOR_DRY_RUN = """
mutation DryRun($selector: SensorSelector!, $cursor: String) {
  sensorDryRun(selectorData: $selector, cursor: $cursor) {
    __typename
    ... on DryRunInstigationTick {
      evaluationResult {
        skipReason
        error { message }
        runRequests { jobName tags { key value } assetSelection { path } assetChecks { assetKey { path } name } }
      }
    }
    ... on PythonError { message }
  }
}
"""
LAUNCH_RUN = """
mutation LaunchRun($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message stack }
    ... on InvalidSubsetError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DagsterDev:
    """``dagster dev`` as a context manager: started in its own process group, stopped with it.

    ``target`` are the code-location arguments (``["-w", "workspace.yaml"]`` or ``["-m", module]``);
    ``env`` adds environment variables (DuckDB path, source settings, test hooks).
    """

    def __init__(self, workdir: Path, target: list[str], env: dict[str, str] | None = None,
                 startup_timeout: float = 180.0) -> None:
        self.workdir = Path(workdir)
        self.home = self.workdir / "dagster_home"
        self.target = target
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.workdir / "dagster_dev.log"
        self.startup_timeout = startup_timeout
        self.env = {**os.environ, "DAGSTER_HOME": str(self.home), "PYTHONWARNINGS": "ignore",
                    **(env or {})}
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> DagsterDev:
        self.home.mkdir(parents=True, exist_ok=True)
        shutil.copy(DEPLOY_YAML, self.home / "dagster.yaml")
        self._log = open(self.log_path, "w")  # noqa: SIM115 (closed in __exit__)
        self.proc = subprocess.Popen(
            [str(BIN / "dagster"), "dev", *self.target, "-h", "127.0.0.1", "-p", str(self.port)],
            cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dagster dev exited ({self.proc.returncode}):\n{self.log_tail()}")
            try:
                out = self.graphql("{ workspaceOrError { __typename ... on Workspace { locationEntries "
                                   "{ locationOrLoadError { __typename } } } } }")
                entries = out["workspaceOrError"].get("locationEntries") or []
                kinds = [e["locationOrLoadError"]["__typename"] if e["locationOrLoadError"] else None
                         for e in entries]
                if kinds and all(k == "RepositoryLocation" for k in kinds):
                    return
                if "PythonError" in kinds:
                    raise RuntimeError(f"code location failed to load:\n{self.log_tail()}")
            except requests.RequestException:
                pass
            time.sleep(1.0)
        raise TimeoutError(f"dagster dev not ready after {self.startup_timeout} s:\n{self.log_tail()}")

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGINT)  # Ctrl-C: dagster dev stops webserver, daemon, code server
                try:
                    self.proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    pass
            try:  # whatever of the process group is left (it is ours: started with start_new_session)
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            if self.proc.poll() is None:
                self.proc.wait(timeout=10)
        if getattr(self, "_log", None):
            self._log.close()

    def log_tail(self, chars: int = 6000) -> str:
        """The end of the server's log without the warning noise (for assertion messages)."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(line for line in lines if "Warning" not in line and "return fn(" not in line)[-chars:]

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        r = requests.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}}, timeout=60)
        if r.status_code >= 400:  # the server's explanation, not only the status
            raise requests.HTTPError(f"{r.status_code} from {self.url}/graphql: {r.text[:3000]}", response=r)
        body = r.json()
        if body.get("errors"):
            raise RuntimeError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    def runs(self) -> list[dict]:
        return self.graphql(RUNS_QUERY)["runsOrError"]["results"]

    def repository(self) -> dict[str, str]:
        """``{"repositoryLocationName": ..., "repositoryName": ...}`` of the (first) code location."""
        node = self.graphql(REPOSITORIES)["repositoriesOrError"]["nodes"][0]
        return {"repositoryLocationName": node["location"]["name"], "repositoryName": node["name"]}

    def wait_runs_done(self, predicate, n_expected: int, timeout: float) -> list[dict]:
        """Wait until ``n_expected`` runs matching ``predicate`` reached a final status; returns them."""
        final = {"SUCCESS", "FAILURE", "CANCELED"}
        deadline = time.monotonic() + timeout
        runs: list[dict] = []
        while time.monotonic() < deadline:
            runs = [r for r in self.runs() if predicate(r)]
            if len(runs) >= n_expected and all(r["status"] in final for r in runs):
                return runs
            time.sleep(2.0)
        raise TimeoutError(f"runs not done after {timeout} s: {[(r['runId'], r['status']) for r in runs]}\n"
                           f"{self.log_tail()}")


def tags_of(run: dict) -> dict[str, str]:
    return {t["key"]: t["value"] for t in run["tags"]}


def kill_in_pause(proc: subprocess.Popen, marker: Path, timeout: float = 180, settle: float = 0.0) -> None:
    """SIGKILL ``proc`` once it is inside the write pause (``CRYPTOFACTOR_TEST_PAUSE_IN_WRITE``): the pause
    appends "<table> <pid>" to ``marker`` after the DELETE, before the INSERT and COMMIT. Fails when the
    process ends first or never gets there; leaves no process behind."""
    try:
        deadline = time.monotonic() + timeout
        while not (marker.exists() and marker.read_text().strip()):
            assert proc.poll() is None, f"the process ended (rc={proc.returncode}) before its write pause"
            assert time.monotonic() < deadline, "the write pause was never reached"
            time.sleep(0.1)
        time.sleep(settle)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
