"""The GitHub Action's work as one command (``perfgate ci``): baselines made on
pushes to the default branch and kept on a data branch, pull requests gated
against them."""
