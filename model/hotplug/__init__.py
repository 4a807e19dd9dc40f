"""The Linux memory hot(un)plug model of the PG_offline_skippable thread."""

from .knobs import DESIGN_OF_PRESET, PRESETS
from .system import HotplugSystem

__all__ = ["DESIGN_OF_PRESET", "PRESETS", "HotplugSystem"]
