"""raqib monitor package: watch rules, digests and alerts, the daemon, the web view, the CLI."""
