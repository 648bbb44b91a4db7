"""The ``perfgate`` command line: parsing, and one plain ``run_*`` function per command."""
