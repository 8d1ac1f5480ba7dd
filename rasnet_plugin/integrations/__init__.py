"""Adapters to third-party evaluation toolkits (each imports its toolkit lazily).

- `rasnet_plugin.integrations.got10k`: the `got10k` toolkit (PyPI), `RASNetGOT10kTracker`
  for `got10k.experiments` (ExperimentOTB, ExperimentGOT10k, ExperimentVOT, ...).

The PySOT, pytracking and VOT toolkit integrations live in `rasnet_plugin.pysot_plugin`,
`rasnet_plugin.tracker.pytracking` and `rasnet_plugin.vot`.
"""
