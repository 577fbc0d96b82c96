"""Ground Truth labeling jobs."""
