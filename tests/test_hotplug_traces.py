"""Golden counterexamples of the hotplug model: the shortest trace of a property under
a design, as ITF JSON in specs/hotplug/traces/, must stay what the spec produces.

Set MHP_UPDATE_GOLDEN=1 to rewrite them after a deliberate model change.
"""

from __future__ import annotations

import json
import os

import pytest
from conftest import ROOT

from mhpcheck.cli.runner import run_checks
from mhpcheck.cli.spec import load_spec, resolve
from mhpcheck.model.trace import Trace

SPECS = ROOT / "specs" / "hotplug"
TRACES = SPECS / "traces"

#: golden file -> (spec, property, the kernel functions the trace must read as)
GOLDEN = {
    "s3-legacy.itf.json": ("1-unplugged-subblock/legacy.toml", "S3", [
        "folio_try_get_stray", "memory_block_offline", "start_isolate_page_range",
        "virtio_mem_memory_notifier_going_offline", "scan_movable_pages_ebusy",
        "folio_put_stray", "undo_isolate_page_range", "rmqueue"]),
    "s4-naive-free.itf.json": ("1-unplugged-subblock/naive-free.toml", "S4", [
        "folio_try_get_stray", "memory_block_offline", "send_sig", "start_isolate_page_range",
        "virtio_mem_memory_notifier_going_offline", "offline_pages_signal_backoff",
        "undo_isolate_page_range", "virtio_mem_memory_notifier_cancel_offline"]),
    "s9-skippable-v1.itf.json": ("5-forced-unload/skippable-v1.toml", "S9", [
        "virtio_mem_remove", "virtio_mem_deinit_hotplug", "memory_block_offline",
        "start_isolate_page_range", "memory_notify_going_offline", "scan_movable_pages_enoent",
        "test_pages_isolated", "__offline_isolated_pages", "remove_pfn_range_from_zone",
        "online_pages"]),
    # The cells the second fidelity pass changed (specs/README.md lists them).
    "s10-skippable-v2-plug.itf.json": ("12-vmem-plug/skippable-v2.toml", "S10", [
        "folio_try_get_stray", "virtio_mem_sbm_plug_sb_online", "folio_put_stray"]),
    "s4-skippable-v2-plug.itf.json": ("12-vmem-plug/skippable-v2.toml", "S4", [
        "folio_try_get_stray", "virtio_mem_sbm_plug_sb_online",
        "virtio_mem_sbm_unplug_sb_online", "folio_put_stray"]),
    "s3-skippable-v2-plug.itf.json": ("12-vmem-plug/skippable-v2.toml", "S3", [
        "folio_try_get_stray", "virtio_mem_sbm_plug_sb_online",
        "virtio_mem_sbm_unplug_sb_online", "folio_put_stray", "rmqueue"]),
    "s9-skippable-v2-plug.itf.json": ("12-vmem-plug/skippable-v2.toml", "S9", [
        "folio_try_get_stray", "virtio_mem_sbm_plug_sb_online",
        "virtio_mem_sbm_unplug_sb_online", "virtio_mem_remove", "virtio_mem_deinit_hotplug",
        "folio_put_stray"]),
    "s6c-legacy.itf.json": ("1-unplugged-subblock/legacy.toml", "S6c", [
        "folio_try_get_stray", "memory_block_offline", "start_isolate_page_range",
        "virtio_mem_memory_notifier_going_offline", "scan_movable_pages_ebusy",
        "folio_put_stray", "undo_isolate_page_range",
        "virtio_mem_memory_notifier_cancel_offline", "rmqueue", "folio_put",
        "memory_block_offline", "start_isolate_page_range",
        "virtio_mem_memory_notifier_going_offline", "scan_movable_pages_enoent",
        "test_pages_isolated"]),
    "s4-legacy-page-checks.itf.json": ("1-unplugged-subblock/legacy-page-checks.toml", "S4", [
        "folio_try_get_stray", "memory_block_offline", "start_isolate_page_range",
        "virtio_mem_memory_notifier_going_offline", "scan_movable_pages_ebusy",
        "folio_put_stray", "undo_isolate_page_range",
        "virtio_mem_memory_notifier_cancel_offline"]),
    "s13-skippable-v2-debug-vm.itf.json": ("12-vmem-plug/skippable-v2-debug-vm.toml", "S13", [
        "folio_try_get_stray", "virtio_mem_sbm_plug_sb_online", "folio_put_stray"]),
    "s12-legacy-poisoned-kernel-page.itf.json": (
        "8-hwpoison/legacy-poisoned-kernel-page.toml", "S12", [
            "memory_failure", "memory_block_offline", "start_isolate_page_range",
            "memory_notify_going_offline", "scan_movable_pages_enoent", "test_pages_isolated"]),
    "l3-legacy-poisoned-balloon.itf.json": ("8-hwpoison/legacy-poisoned-balloon.toml", "L3", [
        "memory_block_offline", "memory_failure", "start_isolate_page_range",
        "memory_notify_going_offline", "scan_movable_pages"]),
    "l1-skippable-v1.itf.json": ("4-class2-owner/skippable-v1.toml", "L1", [
        "memory_block_offline", "start_isolate_page_range", "memory_notify_going_offline",
        "scan_movable_pages", "do_migrate_range", "scan_movable_pages_enoent"]),
}


def counterexample(spec_name: str, prop: str) -> tuple[Trace, str]:
    spec = load_spec(SPECS / spec_name)
    ts = resolve(spec)
    outcomes = [o for o in run_checks(spec, ts) if o.check.property == prop]
    assert len(outcomes) == 1 and outcomes[0].result.trace is not None
    trace = outcomes[0].result.trace
    return trace, trace.dumps(ts)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_the_counterexample_matches_its_golden_file(name: str) -> None:
    spec_name, prop, _ = GOLDEN[name]
    _, text = counterexample(spec_name, prop)
    path = TRACES / name
    if os.environ.get("MHP_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == text


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_the_counterexample_reads_as_the_reference_scenario(name: str) -> None:
    steps = GOLDEN[name][2]
    data = json.loads((TRACES / name).read_text(encoding="utf-8"))
    actions = [s["#meta"]["action"] for s in data["states"][1:]]
    assert actions == steps


def test_the_l1_counterexample_is_a_lasso_through_the_scan_and_the_test() -> None:
    trace, _ = counterexample("4-class2-owner/skippable-v1.toml", "L1")
    assert trace.loop is not None and trace.loop_action is not None
    looped = [str(s.action) for s in trace.steps[trace.loop + 1:]] + [trace.loop_action[0]]
    assert "test_pages_isolated_ebusy" in looped and "scan_movable_pages_enoent" in looped


def test_the_poisoned_balloon_lasso_loops_through_the_migration_that_skips_it() -> None:
    trace, _ = counterexample("8-hwpoison/legacy-poisoned-balloon.toml", "L3")
    assert trace.loop is not None and trace.loop_action is not None
    assert trace.loop_action[0] == "do_migrate_range"
