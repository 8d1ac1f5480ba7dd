"""Adapters to third-party tracking frameworks and toolkits (each imports its own lazily).

- `rasnet_plugin.integrations.pysot`: PySOT (STVIR/pysot): `register_pysot()` (run by
  `import rasnet_plugin` when `pysot` is importable), `RASNetHead`, `PySOTRASNetTracker`,
  `convert_checkpoint_to_pysot` (`python -m rasnet_plugin.pysot_plugin SRC DST`).
- `rasnet_plugin.integrations.pytracking`: pytracking (visionml/pytracking):
  `RASNetPyTracker`, `parameters()`, `get_tracker_class()`.
- `rasnet_plugin.integrations.got10k`: the `got10k` toolkit (PyPI), `RASNetGOT10kTracker`
  for `got10k.experiments` (ExperimentOTB, ExperimentGOT10k, ExperimentVOT, ...).

The VOT toolkit's TraX server is `rasnet_plugin.vot`. The old module paths
`rasnet_plugin.pysot_plugin` and `rasnet_plugin.tracker.pytracking` still import.
"""
