"""raqib storage package."""
