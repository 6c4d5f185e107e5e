"""raqib monitor package."""
