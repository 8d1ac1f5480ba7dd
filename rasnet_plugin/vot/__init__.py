"""RASNet in the VOT toolkit: the TraX tracker server (`python -m rasnet_plugin.vot`, the
command a workspace's trackers.ini declares), the workspace builder (`workspace`) and the
check of our VOT evaluation against the toolkit's (`compare`: `compare.compare(...)`).

The server's names are imported here; those of `workspace` and `compare` on first use, so
that starting the tracker loads nothing it does not need.
"""
from .server import (ENV_CONFIG, ENV_DEVICE, ENV_SNAPSHOT, ENV_THREADS, TrackerError,
                     build_from_env, main, region_to_xywh, serve)

_WORKSPACE = ["WorkspaceError", "write_workspace", "export_bundled", "trackers_ini", "stack_yaml",
              "config_yaml", "merge_trackers_ini", "eao_interval", "sequence_lengths",
              "stack_interval", "resolve_stack", "evaluate", "analysis", "summarize",
              "format_summary"]
_COMPARE = ["format_report", "convert_results", "compare_records", "toolkit_runs"]

__all__ = ["ENV_CONFIG", "ENV_DEVICE", "ENV_SNAPSHOT", "ENV_THREADS", "TrackerError",
           "build_from_env", "main", "region_to_xywh", "serve"]
__all__ += _WORKSPACE + _COMPARE


def __getattr__(name):
    if name in _WORKSPACE:
        from . import workspace
        return getattr(workspace, name)
    if name in _COMPARE:
        from . import compare
        return getattr(compare, name)
    raise AttributeError("module %r has no attribute %r" % (__name__, name))
