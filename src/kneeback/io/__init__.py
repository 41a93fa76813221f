"""Reading and writing: videos (PyAV), pose files (netCDF) and adapters for external formats."""
