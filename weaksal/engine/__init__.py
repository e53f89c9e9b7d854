"""Training engine: configs, run records, checkpoints."""
