"""Pseudo-label refinement: superpixels, manifold ranking, dense and iterative CRFs."""
