"""Publish: the GitHub context, and the publishers (job summary, check run,
sticky comment) behind one small interface."""
