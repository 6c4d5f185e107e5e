"""raqib crawler package."""
