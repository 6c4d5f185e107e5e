"""raqib's storage: the repository (the one door to the database), its records, migrations."""
