"""The pytest plugin's parts; the entry point is :mod:`perfgate.pytest_plugin`.

Nothing here imports numpy, scipy or the engines at module level: pytest imports the plugin
in every project that has perfgate installed, so engines load only when a fixture runs.
"""
