"""Same-job A/B: both revisions measured in this job, each in its own tree and
the project's own interpreter, and compared paired."""
