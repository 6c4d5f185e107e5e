"""raqib's shipped configuration: installed as the package data `monitor.default_config`
(pyproject.toml maps it here), found with importlib.resources (monitor.config)."""
