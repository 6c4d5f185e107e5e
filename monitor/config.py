"""Loading and validating raqib's configuration directory (sources, rules, settings).

A wrong configuration is refused before anything runs, with one line that names the file,
the source (or rule, or digest) id and the field.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

GCC_COUNTRIES = {"SA", "AE", "BH", "KW", "OM", "QA"}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}
MAX_URL_LENGTH = 2048  # longer addresses are refused (in config and, later, as crawled links)


class ConfigError(Exception):
    """A configuration problem, reported as one line naming file, item and field."""

    def __init__(self, file: str | Path, message: str, item: str | None = None,
                 field_name: str | None = None) -> None:
        self.file = str(file)
        self.item = item
        self.field_name = field_name
        self.message = message
        where = [self.file]
        if item:
            where.append(item)
        if field_name:
            where.append(f"field '{field_name}'")
        super().__init__(": ".join(where) + ": " + message)


def parse_duration(value: str | int | float) -> float:
    """Seconds in a duration such as `30s`, `15m`, `2h`, `1d` (a bare number is seconds)."""
    if isinstance(value, (int, float)):
        return float(value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"invalid duration {value!r} (use 30s, 15m, 2h or 1d)")
    number, unit = float(match.group(1)), match.group(2)
    return number * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]


DATABASE_URL_FORMS = ("sqlite:///relative/file.db, sqlite:////absolute/file.db or "
                      "postgresql+psycopg://user@host[:port]/name")


def resolve_database_url(url: str, base: Path) -> str:
    """The database URL raqib opens for `url`: SQLite or PostgreSQL (through psycopg), a relative
    SQLite file made absolute under `base`. ValueError (naming the accepted forms) otherwise."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    scheme = url.split("://", 1)[0].strip().lower() if "://" in url else ""
    if scheme == "postgres":  # what many hosts print; SQLAlchemy knows it as postgresql
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
        scheme = "postgresql+psycopg"
    backend, _, driver = scheme.partition("+")
    if backend not in ("sqlite", "postgresql"):
        what = f"'{scheme}://…' is not a database raqib can use" if scheme else \
            "not a database URL"
        raise ValueError(f"{what}: use {DATABASE_URL_FORMS}")
    if driver not in ("", {"sqlite": "pysqlite", "postgresql": "psycopg"}[backend]):
        raise ValueError(f"database driver '{driver}' is not installed with raqib: use "
                         f"{DATABASE_URL_FORMS}")
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ValueError(f"not a database URL: use {DATABASE_URL_FORMS}") from exc
    if backend == "postgresql":
        if not parsed.database:
            raise ValueError(f"no database name in the URL: use {DATABASE_URL_FORMS}")
        return url
    if parsed.database in (None, "", ":memory:"):
        return url  # an in-memory database: nothing on disk
    path = Path(parsed.database).expanduser()
    if path.is_absolute():
        return url
    return parsed.set(database=str(base / path)).render_as_string(hide_password=False)


def parse_size(value: str | int) -> int:
    """Bytes in a size such as `10MB`, `512KB` or a bare number of bytes."""
    if isinstance(value, int):
        return value
    match = _SIZE.match(str(value))
    if not match:
        raise ValueError(f"invalid size {value!r} (use e.g. 10MB, 512KB)")
    return int(float(match.group(1)) * _SIZE_UNITS[(match.group(2) or "B").upper()])


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Asia/Riyadh)") from exc
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Schedule(_Strict):
    """When a job runs: `every` a duration or a five-field `cron` expression."""

    every: str | None = None
    cron: str | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Schedule:
        if (self.every is None) == (self.cron is None):
            raise ValueError("give exactly one of 'every' or 'cron'")
        if self.every is not None:
            if parse_duration(self.every) <= 0:
                raise ValueError("'every' must be positive")
        else:
            from apscheduler.triggers.cron import CronTrigger

            if len(self.cron.split()) != 5:
                raise ValueError(f"cron {self.cron!r} must have five fields")
            try:
                CronTrigger.from_crontab(self.cron)
            except ValueError as exc:
                raise ValueError(f"invalid cron {self.cron!r}: {exc}") from exc
        return self

    @property
    def seconds(self) -> float | None:
        """The interval in seconds, for `every` schedules."""
        return parse_duration(self.every) if self.every else None


def check_url(url: str) -> str:
    """A configured http(s) address, or ValueError saying what is wrong with it."""
    if not re.match(r"^https?://[^/\s]+", url):
        raise ValueError(f"{url!r} is not an http(s) URL")
    if len(url) > MAX_URL_LENGTH:
        raise ValueError(f"{url[:60]!r}… is {len(url):,} characters long "
                         f"(URLs over {MAX_URL_LENGTH:,} characters are refused)")
    return url


def is_xpath(selector: str) -> bool:
    """Whether a listing selector is XPath (begins with `/`, `./` or `(`) rather than CSS."""
    return selector.lstrip().startswith(("/", "./", "("))


def check_selector(selector: str) -> str:
    """A listing selector that parsel can run, or ValueError with the parser's complaint."""
    from cssselect import SelectorError
    from parsel import Selector

    kind = "XPath" if is_xpath(selector) else "CSS selector"
    try:
        document = Selector(text="<html><body><a href='/'>x</a></body></html>")
        document.xpath(selector) if kind == "XPath" else document.css(selector)
    except (SelectorError, ValueError) as exc:
        problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"invalid {kind} {selector!r}: {problem}") from None
    return selector


class Listing(_Strict):
    """An HTML index page whose links lead to articles.

    `links` and `next` are CSS selectors (or XPath, when they begin with `/` or `(`); one
    that selects elements (`a.news`) yields their `href`, one that selects a value
    (`a.news::attr(href)`, `//a/@href`) yields that value.
    """

    url: str
    links: str
    next: str | None = None
    max_pages: int = Field(default=1, ge=1, le=100)

    _check_url = field_validator("url")(check_url)

    @field_validator("links", "next")
    @classmethod
    def _selector(cls, value: str | None) -> str | None:
        return check_selector(value) if value is not None else None


class Source(_Strict):
    """One monitored site, as configured in sources.yaml."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    name: str
    country: str = Field(pattern=r"^[A-Z]{2}$")
    language: str = Field(pattern=r"^[a-z]{2}$")
    kind: Literal["agency", "government", "press"]
    timezone: str = "Asia/Riyadh"
    schedule: Schedule = Schedule(every="30m")
    feeds: list[str] = []
    sitemaps: list[str] = []
    listings: list[Listing] = []
    allow: list[str] = []
    deny: list[str] = []
    domains: list[str] = []
    enabled: bool = True
    disabled_reason: str | None = None
    evidence: str | None = None

    _check_tz = field_validator("timezone")(_check_timezone)

    @field_validator("feeds", "sitemaps")
    @classmethod
    def _urls(cls, urls: list[str]) -> list[str]:
        return [check_url(url) for url in urls]

    @field_validator("allow", "deny")
    @classmethod
    def _regexes(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from exc
        return patterns

    @model_validator(mode="after")
    def _has_entry_points(self) -> Source:
        if self.enabled and not (self.feeds or self.sitemaps or self.listings):
            raise ValueError("an enabled source needs at least one of feeds, sitemaps or listings")
        return self

    @property
    def start_urls(self) -> list[str]:
        """Every discovery address of the source."""
        return [*self.feeds, *self.sitemaps, *(listing.url for listing in self.listings)]


MAX_DURATION = 3650 * 86400.0  # ten years: beyond that a duration is a typo (and overflows dates)


def _duration_or_zero(value: str | int) -> str | int:
    seconds = parse_duration(value)
    if seconds < 0:
        raise ValueError(f"duration {value!r} must not be negative")
    if seconds > MAX_DURATION:
        raise ValueError(f"duration {value!r} is longer than ten years")
    return value


def _positive_duration(value: str | int) -> str | int:
    if parse_duration(_duration_or_zero(value)) == 0:
        raise ValueError(f"duration {value!r} must be positive")
    return value


class CrawlSettings(_Strict):
    """How politely and how hard raqib crawls."""

    user_agent: str = "raqib/1.0 (+https://example.org/raqib)"
    download_timeout: float = Field(default=30, gt=0)
    max_page_size: str | int = "10MB"
    concurrency_per_site: int = Field(default=2, ge=1, le=32)
    total_concurrency: int = Field(default=32, ge=1, le=512)
    allow_private_addresses: bool = False
    obey_robots_txt: bool = True
    retry_times: int = Field(default=2, ge=0, le=10)
    autothrottle: bool = True
    autothrottle_start_delay: float = Field(default=1.0, ge=0)
    autothrottle_max_delay: float = Field(default=30.0, ge=0)
    download_delay: float = Field(default=0.0, ge=0)
    extraction_workers: int = Field(default=2, ge=0, le=64)
    max_failed_attempts: int = Field(default=3, ge=1)
    max_articles_per_run: int = Field(default=300, ge=1)
    max_text_chars: int = Field(default=200_000, ge=1_000)  # a longer body is cut, with a note
    source_time_limit: str | int = "30m"

    @field_validator("max_page_size")
    @classmethod
    def _size(cls, value: str | int) -> str | int:
        if parse_size(value) <= 0:
            raise ValueError(f"size {value!r} must be positive")
        return value

    @field_validator("source_time_limit")
    @classmethod
    def _duration(cls, value: str | int) -> str | int:
        return _positive_duration(value)

    @field_validator("user_agent")
    @classmethod
    def _names_raqib(cls, value: str) -> str:
        if "raqib" not in value.lower() or "http" not in value:
            raise ValueError("the user agent must name raqib and a contact URL")
        return value

    @property
    def max_page_bytes(self) -> int:
        return parse_size(self.max_page_size)


class SmtpSettings(_Strict):
    """The outgoing mail server; the password only ever comes from the environment."""

    host: str = "localhost"
    port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True
    ssl: bool = False
    username: str | None = None
    password_env: str | None = "RAQIB_SMTP_PASSWORD"
    from_: str = Field(default="raqib <raqib@localhost>", alias="from")
    timeout: float = 30

    @model_validator(mode="after")
    def _not_both(self) -> SmtpSettings:
        if self.ssl and self.starttls:
            raise ValueError("'ssl' and 'starttls' exclude each other: set one to false")
        return self

    @property
    def password(self) -> str | None:
        """The secret, read from the environment variable named by `password_env`."""
        return os.environ.get(self.password_env) if self.password_env else None


class ChannelSettings(_Strict):
    """A chat or webhook channel (Teams, Telegram, Slack, a JSON webhook…) reached through Apprise.

    The channel's URL holds its tokens, so the configuration only names the environment
    variable that holds it (`url_env`); the URL is read when a message is sent, never logged.
    `format`: `story` (one short message per story) or `summary` (one message per digest).
    """

    url_env: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
    format: Literal["story", "summary"] = "story"

    @model_validator(mode="before")
    @classmethod
    def _no_url_in_the_file(cls, data: Any) -> Any:
        if isinstance(data, dict) and "url" in data:
            raise ValueError("a channel's URL holds its tokens: put it in an environment "
                             "variable and name that variable with 'url_env'")
        return data

    @property
    def url(self) -> str | None:
        """The channel's Apprise URL, from the environment (None when the variable is unset)."""
        return os.environ.get(self.url_env) or None


def _distinct_channels(channels: list[ChannelSettings]) -> list[ChannelSettings]:
    names = [channel.url_env for channel in channels]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"channel {repeated[0]} is listed twice")
    return channels


class DigestSettings(_Strict):
    """One digest: which rules, to whom (e-mail recipients and chat channels), when."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    name: str | None = None
    rules: list[str]
    recipients: list[str] = []
    channels: list[ChannelSettings] = []
    schedule: Schedule | Literal["immediate"]
    timezone: str = "Asia/Riyadh"
    language: Literal["ar", "en"] = "ar"
    min_items: int = Field(default=1, ge=1)

    _check_tz = field_validator("timezone")(_check_timezone)
    _check_channels = field_validator("channels")(_distinct_channels)

    @field_validator("recipients")
    @classmethod
    def _addresses(cls, recipients: list[str]) -> list[str]:
        for address in recipients:
            if not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", address):
                raise ValueError(f"{address!r} is not an e-mail address")
        return recipients

    @model_validator(mode="after")
    def _someone(self) -> DigestSettings:
        if not self.recipients and not self.channels:
            raise ValueError("a digest needs at least one of 'recipients' or 'channels'")
        return self


class NearDuplicateSettings(_Strict):
    """How similar two articles must be, and how far apart in time, to be one story."""

    # Measured on tests/neardup (crawler.neardup.similarity): copies score 0.55 and up, different
    # stories on one template stay at 0.5 or below once their numbers and names are checked.
    threshold: float = Field(default=0.55, gt=0, le=1)
    window: str | int = "7d"

    _window = field_validator("window")(_positive_duration)

    @property
    def window_seconds(self) -> float:
        return parse_duration(self.window)


class HealthSettings(_Strict):
    """When a source counts as unhealthy, and who hears about it (e-mail and channels)."""

    failures_in_a_row: int = Field(default=3, ge=1)
    quiet_after: str | int = "2d"
    operators: list[str] = []
    channels: list[ChannelSettings] = []

    _check_channels = field_validator("channels")(_distinct_channels)
    _quiet_after = field_validator("quiet_after")(_positive_duration)


class OutboxSettings(_Strict):
    """How messages that did not go out are retried (the daemon's `outbox` job)."""

    check_every: str | int = "1m"       # the daemon looks for messages due this often
    first_retry: str | int = "1m"       # wait after a first failed attempt, doubled each time…
    max_retry: str | int = "1h"         # … up to this
    max_refusals: int = Field(default=3, ge=1)  # a message refused this often is given up
    claim_timeout: str | int = "5m"     # a sender silent this long (killed) loses its claim

    _durations = field_validator("check_every", "first_retry", "max_retry",
                                 "claim_timeout")(_positive_duration)


class VolumeAlertSettings(_Strict):
    """When a rule's day is unusual enough to tell its digests' readers at once."""

    enabled: bool = True
    factor: float = Field(default=3.0, gt=0)        # today ≥ factor × the mean of the days before
    min_stories: int = Field(default=5, ge=1)       # … and at least this many stories today
    baseline_days: int = Field(default=14, ge=1, le=365)
    top_stories: int = Field(default=5, ge=1, le=20)  # stories listed in the alert


class DaemonSettings(_Strict):
    """How `raqib run` schedules and bounds crawl runs."""

    jitter: str | int = "10s"
    max_parallel_crawls: int = Field(default=2, ge=1, le=64)
    crawl_time_limit: str | int = "30m"
    grace_period: str | int = "30s"
    health_check: Schedule = Schedule(every="10m")

    # Checked here, at load: a bad value must be refused before the daemon (re)starts, not
    # raise in the first crawl or halfway through applying a reload.
    _positive = field_validator("crawl_time_limit")(_positive_duration)
    _not_negative = field_validator("jitter", "grace_period")(_duration_or_zero)


class DatabaseSettings(_Strict):
    """Connection pool settings for server databases (ignored by SQLite)."""

    pool_size: int = Field(default=5, ge=1)
    max_overflow: int = Field(default=10, ge=0)
    pool_timeout: float = Field(default=30, gt=0)
    connect_timeout: float = Field(default=10, gt=0)


class WebSettings(_Strict):
    """`raqib web`: who may open it, and how it shows dates. Secrets only in the environment."""

    password_env: str | None = "RAQIB_WEB_PASSWORD"
    feed_secret_env: str | None = "RAQIB_WEB_FEED_SECRET"
    timezone: str = "Asia/Riyadh"
    language: Literal["ar", "en"] = "ar"
    page_size: int = Field(default=25, ge=5, le=200)

    _check_tz = field_validator("timezone")(_check_timezone)

    @property
    def password(self) -> str | None:
        """The password (or token), read from the variable named by `password_env`."""
        return (os.environ.get(self.password_env) or None) if self.password_env else None

    @property
    def feed_secret(self) -> str | None:
        """The key feed tokens are made with: its own variable, else the password."""
        own = os.environ.get(self.feed_secret_env) if self.feed_secret_env else None
        return own or self.password


class Settings(_Strict):
    """settings.yaml: database, crawl politeness, mail, digests and alerts, daemon, web view."""

    database_url: str = "sqlite:///data/raqib.db"
    broker_url: str | None = None
    database: DatabaseSettings = DatabaseSettings()
    crawl: CrawlSettings = CrawlSettings()
    smtp: SmtpSettings = SmtpSettings()
    digests: list[DigestSettings] = []
    near_duplicates: NearDuplicateSettings = NearDuplicateSettings()
    health: HealthSettings = HealthSettings()
    daemon: DaemonSettings = DaemonSettings()
    web: WebSettings = WebSettings()
    outbox: OutboxSettings = OutboxSettings()
    volume_alerts: VolumeAlertSettings = VolumeAlertSettings()


class RuleSpec(_Strict):
    """One watch rule as written in rules.yaml (compiled by monitor.rules)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    name: str
    name_ar: str | None = None  # the rule's name in Arabic digests and pages
    query: str
    languages: list[str] = []
    fields: list[Literal["title", "body"]] = ["title", "body"]
    enabled: bool = True
    description: str | None = None


@dataclass
class Config:
    """A validated configuration directory."""

    directory: Path
    sources: list[Source]
    rules: list[RuleSpec]
    settings: Settings
    warnings: list[str] = field(default_factory=list)

    def source(self, source_id: str) -> Source:
        """The source with this id (ConfigError when there is none)."""
        for source in self.sources:
            if source.id == source_id:
                return source
        known = ", ".join(s.id for s in self.sources) or "none"
        raise ConfigError(self.directory / "sources.yaml", f"no source '{source_id}' (known: {known})")

    def select_sources(self, source_ids: list[str] | None) -> list[Source]:
        """The named sources (even if disabled), or every enabled one."""
        if source_ids:
            return [self.source(source_id) for source_id in source_ids]
        return [source for source in self.sources if source.enabled]

    def rule_set(self):
        """The enabled watch rules, compiled."""
        from monitor.rules import RuleSet, WatchRule

        return RuleSet(_watch_rule(WatchRule, spec) for spec in self.rules)


def _watch_rule(watch_rule_class: Any, spec: RuleSpec) -> Any:
    return watch_rule_class(id=spec.id, name=spec.name, query=spec.query,
                            languages=tuple(spec.languages), fields=tuple(spec.fields),
                            enabled=spec.enabled, name_ar=spec.name_ar)


def shipped_config_dir() -> Path:
    """The shipped configuration: the package data `monitor.default_config` (in a checkout,
    the top-level config/ directory that pyproject.toml installs under that name)."""
    return Path(str(files("monitor.default_config")))


def default_config_dir() -> Path:
    """`RAQIB_CONFIG_DIR`, else the shipped configuration."""
    env = os.environ.get("RAQIB_CONFIG_DIR")
    return Path(env) if env else shipped_config_dir()


def _read_yaml(path: Path, required: bool) -> Any:
    if not path.exists():
        if required:
            raise ConfigError(path, "file not found")
        return None
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(path, f"{where}not valid YAML ({problem})") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(path, "not UTF-8 text") from exc


def _first_error(exc: ValidationError) -> tuple[str, str]:
    error = exc.errors()[0]
    location = ".".join(str(part) for part in error["loc"] if not isinstance(part, int))
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key (check its spelling)"
    elif error["type"] == "missing":
        message = "required but missing"
    return location, message


def _validate_list(path: Path, data: Any, key: str, model: type[BaseModel], kind: str) -> list:
    if data is None:
        return []
    if not isinstance(data, dict) or not isinstance(data.get(key, []), list):
        raise ConfigError(path, f"expected a mapping with a list under '{key}:'")
    items, seen = [], set()
    for index, raw in enumerate(data.get(key) or []):
        label = f"{kind} #{index + 1}"
        if isinstance(raw, dict) and raw.get("id"):
            label = f"{kind} '{raw['id']}'"
        if not isinstance(raw, dict):
            raise ConfigError(path, "expected a mapping of keys", item=label)
        try:
            item = model.model_validate(raw)
        except ValidationError as exc:
            location, message = _first_error(exc)
            raise ConfigError(path, message, item=label, field_name=location or None) from exc
        if item.id in seen:
            raise ConfigError(path, "duplicate id", item=label, field_name="id")
        seen.add(item.id)
        items.append(item)
    return items


def _validate_settings(path: Path, data: Any) -> Settings:
    data = data or {}
    if not isinstance(data, dict):
        raise ConfigError(path, "expected a mapping of settings")
    digests = _validate_list(path, {"digests": data.get("digests") or []}, "digests",
                             DigestSettings, "digest")
    try:
        return Settings.model_validate({**data, "digests": digests})
    except ValidationError as exc:
        location, message = _first_error(exc)
        raise ConfigError(path, message, field_name=location or None) from exc


def _compile_rules(path: Path, specs: list[RuleSpec], source_ids: set[str]) -> list[str]:
    """Compile every rule (ConfigError at the first that does not parse); the warnings about
    how the others read (lower-case operators, `source:` naming no configured source)."""
    from monitor.rules import QuerySyntaxError, WatchRule
    from monitor.rules.clauses import Attribute

    warnings = []
    for spec in specs:
        try:
            query = _watch_rule(WatchRule, spec).compiled
        except QuerySyntaxError as exc:
            raise ConfigError(path, f"{exc} (at position {exc.position})",
                              item=f"rule '{spec.id}'", field_name="query") from exc
        warnings += [f"{path}: rule '{spec.id}': {warning}" for warning in query.warnings]
        warnings += [f"{path}: rule '{spec.id}': {clause.describe(spec.query)} names no source "
                     "of sources.yaml" for clause in query.clauses(Attribute)
                     if clause.name == "source" and clause.value not in source_ids]
    return warnings


def _database_url(settings_path: Path, configured: str, given: str | None) -> str:
    """The database URL in use: --db, else RAQIB_DATABASE_URL, else settings.yaml's. A relative
    SQLite file is in the directory raqib runs in (DESIGN: the shipped one is ./data/raqib.db)."""
    origin, url = "--db", given
    if not url and os.environ.get("RAQIB_DATABASE_URL"):
        origin, url = "environment variable RAQIB_DATABASE_URL", os.environ["RAQIB_DATABASE_URL"]
    try:
        return resolve_database_url(url or configured, Path.cwd())
    except ValueError as exc:
        if url:
            raise ConfigError(origin, str(exc)) from exc
        raise ConfigError(settings_path, str(exc), field_name="database_url") from exc


def load_config(directory: str | Path | None = None, *, database_url: str | None = None) -> Config:
    """Read and validate sources.yaml, rules.yaml and settings.yaml from a directory."""
    directory = Path(directory) if directory else default_config_dir()
    if not directory.is_dir():
        raise ConfigError(directory, "configuration directory not found")
    sources_path = directory / "sources.yaml"
    rules_path = directory / "rules.yaml"
    settings_path = directory / "settings.yaml"
    sources = _validate_list(sources_path, _read_yaml(sources_path, True), "sources", Source, "source")
    rules = _validate_list(rules_path, _read_yaml(rules_path, False), "rules", RuleSpec, "rule")
    rule_warnings = _compile_rules(rules_path, rules, {source.id for source in sources})
    settings = _validate_settings(settings_path, _read_yaml(settings_path, False))
    settings = settings.model_copy(update={"database_url": _database_url(
        settings_path, settings.database_url, database_url)})
    broker_url = os.environ.get("RAQIB_BROKER_URL")
    if broker_url is not None:  # set but empty: no broker, crawl in the daemon itself
        settings = settings.model_copy(update={"broker_url": broker_url or None})
    rule_ids = {rule.id for rule in rules}
    for digest in settings.digests:
        unknown = [rule_id for rule_id in digest.rules if rule_id not in rule_ids]
        if unknown:
            raise ConfigError(settings_path, f"unknown rule id(s): {', '.join(unknown)}",
                              item=f"digest '{digest.id}'", field_name="rules")
    warnings = [f"{sources_path}: source '{s.id}' is in {s.country}, outside the GCC"
                for s in sources if s.country not in GCC_COUNTRIES] + rule_warnings
    return Config(directory, sources, rules, settings, warnings)
