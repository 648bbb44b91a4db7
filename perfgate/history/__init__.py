"""History over the default branch: each benchmark's series read from the data
branch, its steps (change points, tested), the commit that caused each (bisected
with ``perfgate ab``), and the drift since a reference commit (DESIGN §7)."""
