"""perfgate's pytest plugin (work in progress: being written now)."""
