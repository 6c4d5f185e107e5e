"""The analysts' web view (`raqib web`): inbox, search, stories, articles, sources, rules, feeds.

`create_app(config, repository)` builds the Starlette application (monitor/web/app.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.config import Config
    from storage.repository import Repository

__all__ = ["create_app"]


def create_app(config: Config, repository: Repository) -> Any:
    """The web application over `repository` (imported lazily: the CLI loads it on demand)."""
    from monitor.web.app import create_app as build

    return build(config, repository)
