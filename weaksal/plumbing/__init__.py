"""Plumbing every layer may use: errors, the registry shape, paths, hashes, devices,
install extras, worker pools, per-image jobs and atomic writes. It imports nothing of weaksal
above it."""
