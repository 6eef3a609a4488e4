"""The pre-flight's failure lines: one per problem, each naming the node, the path and what is wrong.

On the emulated hosts every node shares this filesystem, so a missing data root is made the simple
way: a path that exists nowhere. The same task runs on every alive node of whatever Ray the driver
joined; here that is a local runtime of one node.
"""

from __future__ import annotations

import pytest

from nasvl.cluster.preflight import TOKEN_FILE, preflight
from nasvl.errors import NasvlError

pytestmark = pytest.mark.ray


def test_preflight_names_node_path_and_problem(tmp_path) -> None:
    import ray

    from nasvl.cluster.runtime import init_ray

    init_ray(None)
    try:
        ip = ray.util.get_node_ip_address()
        run_dir = tmp_path / "run"
        preflight(run_dir, roots=[("search.val", str(tmp_path))], model="minilm")  # all well: no error
        assert (run_dir / TOKEN_FILE).is_file()
        with pytest.raises(NasvlError) as info:
            preflight(run_dir, roots=[("evaluate.datasets[0]", str(tmp_path / "nowhere"))],
                      model=str(tmp_path / "no-such-model"))
    finally:
        ray.shutdown()
    lines = str(info.value).splitlines()
    assert lines[0] == "pre-flight failed on 1 node(s):"
    assert f"  node {ip}: {tmp_path / 'nowhere'}: evaluate.datasets[0]: not found here" in lines[1:]
    assert any(line.startswith(f"  node {ip}: language model:") for line in lines[1:]), lines
