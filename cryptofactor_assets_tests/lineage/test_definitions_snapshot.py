"""A snapshot of the whole Dagster graph, so that any change to it shows in review.

As dagster-open-platform's ``test_defs.py``: every asset key with its upstream keys and partition
mappings, group, kinds, partitioning, pool, backfill policy and checks; every job's selection and
partitioning; every schedule's cron and job; sensors and resource keys. The snapshot lives in
``__snapshots__/test_definitions_snapshot.ambr``; after an intended change to the graph, refresh it
with ``pytest cryptofactor_assets_tests/lineage/test_definitions_snapshot.py --snapshot-update`` and
review the diff. Partition start / end dates are left out: they come from the environment
(``CRYPTOFACTOR_PARTITIONS_START`` / ``_END``).
"""

import dagster as dg

from cryptofactor_assets.definitions import defs


def _partitioning(pd_) -> str | None:
    if pd_ is None:
        return None
    if isinstance(pd_, dg.TimeWindowPartitionsDefinition):
        return f"{type(pd_).__name__}(cron={pd_.cron_schedule!r}, timezone={pd_.timezone!r}, fmt={pd_.fmt!r})"
    return type(pd_).__name__


def graph_summary() -> dict:
    repo = defs.get_repository_def()
    graph = repo.asset_graph
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        deps = {}
        for parent in sorted(node.parent_keys, key=lambda k: k.to_user_string()):
            mapping = node.partition_mappings.get(parent)
            deps[parent.to_user_string()] = repr(mapping) if mapping is not None else None
        checks = sorted((c.name, graph.get(c).blocking) for c in graph.asset_check_keys if c.asset_key == key)
        policy = node.backfill_policy
        assets[key.to_user_string()] = {
            "deps": deps,
            "group": node.group_name,
            "kinds": sorted(node.kinds),
            "partitioning": _partitioning(node.partitions_def),
            "pools": sorted(node.pools or []),
            "backfill_policy": None if policy is None else repr(policy.policy_type),
            "checks": checks,
            "description_first_line": (node.description or "").strip().splitlines()[0] if node.description else None,
        }
    jobs = {}
    for job in sorted(repo.get_all_jobs(), key=lambda j: j.name):
        if job.name.startswith("__"):
            continue
        selected = job.asset_layer.selected_asset_keys if job.asset_layer else set()
        jobs[job.name] = {
            "assets": sorted(k.to_user_string() for k in selected),
            "partitioning": _partitioning(job.partitions_def),
            "executor": job.executor_def.name,
        }
    schedules = {s.name: {"cron": s.cron_schedule, "job": s.job_name, "timezone": s.execution_timezone,
                          "default_status": s.default_status.value}
                 for s in sorted(repo.schedule_defs, key=lambda s: s.name)}
    sensors = {s.name: s.default_status.value for s in sorted(repo.sensor_defs, key=lambda s: s.name)}
    return {"assets": assets, "jobs": jobs, "schedules": schedules, "sensors": sensors,
            "resources": sorted(defs.resources or {})}


def test_the_graph_matches_its_snapshot(snapshot):
    assert graph_summary() == snapshot
