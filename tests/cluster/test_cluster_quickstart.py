"""The miniature quickstart on three emulated hosts, through `--address` and through `ray job submit`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nasvl.search.records import load_records
from tests.bounds import HANG_S
from tests.cluster.conftest import NASVL, RAY_BIN, mini_job, write_job
from tests.cluster.hosts import job_server_available

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def _nodes_of_training(step_dir: Path) -> set[str]:
    lines = (step_dir / "workers.jsonl").read_text().splitlines()
    return {json.loads(line)["node_ip"] for line in lines}


def _check_spread(run_dir: Path, cluster) -> None:
    workers = {h.ip for h in cluster.hosts[1:]}
    assert (run_dir / "evaluate" / "DONE.json").is_file()
    train_nodes = _nodes_of_training(run_dir / "supernet")
    assert train_nodes == workers, f"supernet training ranks ran on {train_nodes}"
    records = load_records(run_dir / "search")
    trial_nodes = {r.node_ip for r in records.completed}
    assert len(records.completed) == 4
    assert trial_nodes == workers, f"search trials ran on {trial_nodes}"
    assert _nodes_of_training(run_dir / "retrain") == workers


def test_quickstart_through_address(cluster, tmp_path) -> None:
    """Driven from the head's own working directory with the default runs/; the job file is elsewhere."""
    job = write_job(cluster.root / "jobs-address", mini_job("viaaddress"))
    done = cluster.head.run([*NASVL, "run", str(job), "--address", cluster.address], timeout=HANG_S, check=False)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-6000:]
    assert "Traceback" not in done.stderr
    _check_spread(cluster.head.work / "runs" / "viaaddress", cluster)


@pytest.mark.skipif(not job_server_available(), reason="`ray job submit` needs ray[default] (the dashboard's job "
                    "server: aiohttp, aiohttp_cors, prometheus_client), not installed here")
def test_quickstart_through_ray_job_submit(cluster) -> None:
    """`ray job submit --working-dir . -- nasvl run JOB` from the folder that holds the job file."""
    folder = cluster.root / "jobs-submit"
    write_job(folder, mini_job("viasubmit"))
    runs = cluster.root / "shared-runs"  # on a real cluster: storage every node mounts
    done = cluster.head.run([RAY_BIN, "job", "submit", "--address", cluster.dashboard, "--working-dir", ".", "--",
                             *NASVL, "run", "job.yaml", "--runs", str(runs)], cwd=folder, timeout=HANG_S, check=False)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-4000:]
    _check_spread(runs / "viasubmit", cluster)
