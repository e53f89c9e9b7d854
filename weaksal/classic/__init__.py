"""Unsupervised (handcrafted) salient object detectors."""
