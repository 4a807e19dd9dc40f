"""The assembled hotplug transition system (properties are added in properties/)."""

from __future__ import annotations

from .allocator import Allocator
from .balloon import Balloon
from .environment import Environment
from .online import OnlinePages
from .view import HotplugView
from .virtio_mem import VirtioMem


class HotplugSystem(VirtioMem, OnlinePages, Allocator, Balloon, Environment, HotplugView):
    """Pages, pageblocks, blocks, virtio-mem and balloons under a chosen design."""
