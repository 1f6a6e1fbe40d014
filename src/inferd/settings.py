"""Server settings: built once (by `inferd serve` or a test) and passed down; nothing else reads the environment."""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from inferd.units import parse_byte_size


class ClusterKind(StrEnum):
    LOCAL = "local"
    """This machine, split into `nodes` virtual nodes."""
    RAY = "ray"
    """The nodes of a Ray cluster offering the `inferd_ml` resource (the `ray` extra)."""


class Settings(BaseSettings):
    """Every knob of the server. Environment variables use the `INFERD_` prefix (`INFERD_PORT=9201`)."""

    model_config = SettingsConfigDict(env_prefix="INFERD_", env_nested_delimiter="__", extra="forbid")

    host: str = Field("127.0.0.1", description="Address to listen on; loopback by default, like Elasticsearch.")
    port: int = Field(9200, ge=0, le=65535, description="Port to listen on (9200, Elasticsearch's).")
    data_dir: Path = Field(Path("data"), description="Holds the SQLite store, the lock file and caches.")
    store_url: str | None = Field(
        None, description="SQLAlchemy URL of the store (e.g. postgresql+psycopg://...); default: SQLite in data_dir."
    )
    node_name: str | None = Field(None, description="The node's name in `GET /`; default: the host name.")
    max_content_length_bytes: int = Field(
        100 * 1024 * 1024, gt=0, description="Largest request body accepted (Elasticsearch's http.max_content_length)."
    )
    max_in_flight_body_bytes: int = Field(
        512 * 1024 * 1024, gt=0, description="All request bodies being received at once (429 beyond, as Elasticsearch's "
        "in-flight requests breaker)."
    )
    max_header_bytes: int = Field(
        16 * 1024, ge=1024, description="Largest request head (request line and headers) accepted; beyond it the "
        "connection answers 400 and closes (Elasticsearch's http.max_header_size)."
    )
    max_url_bytes: int = Field(
        4 * 1024, ge=256, description="Longest request line: method, path and query string (400 beyond, as "
        "Elasticsearch's http.max_initial_line_length)."
    )
    max_json_depth: int = Field(
        100, ge=2, le=900, description="Deepest nesting of objects and arrays a JSON body may have (400 beyond)."
    )
    max_json_values: int = Field(
        5_000_000, ge=1000, description="Most values (numbers, strings, arrays, objects...) a JSON body may hold: "
        "parsed, each costs the server tens of bytes, so a body of empty arrays could otherwise take gigabytes "
        "(400 beyond)."
    )
    max_infer_documents: int = Field(
        10_000, ge=1, description="Documents one `_infer` request may carry (400 beyond; a deployment's queue "
        "refuses more than `queue_capacity` anyway)."
    )
    max_document_chars: int = Field(
        1_000_000, ge=1, description="Longest text one `_infer` document may hold, in characters (400 beyond)."
    )
    max_document_windows: int = Field(
        1000, ge=1, description="Most windows spanning (`span`) may cut one `_infer` document into; a request over it "
        "is refused (400) before its windows are built, so a long text with a small stride cannot exhaust a worker."
    )
    max_definition_bytes: int = Field(
        4 * 1024**3, ge=1, description="Largest model definition (`total_definition_length`) accepted, in bytes."
    )
    max_definition_parts: int = Field(
        10_000, ge=1, le=10_000, description="Most parts a definition may be uploaded in (`total_parts`; "
        "Elasticsearch's limit, 10000, is the most)."
    )
    max_definition_part_bytes: int = Field(
        64 * 1024**2, ge=1, description="Largest definition part accepted, in bytes once base64-decoded (eland "
        "sends 1 MiB parts)."
    )
    max_vocabulary_size: int = Field(
        1_000_000, ge=1, description="Most entries `vocabulary`, `merges` and `scores` may each have."
    )
    max_vocabulary_entry_chars: int = Field(
        1_000, ge=1, description="Longest `vocabulary` or `merges` entry accepted, in characters."
    )
    definition_check_memory_bytes: int = Field(
        2 * 1024**3, ge=256 * 1024**2, description="Address space the throwaway process that checks a TorchScript "
        "archive may use on top of three times the definition's size (it is killed beyond)."
    )
    definition_check_timeout_s: float = Field(
        120.0, gt=0, description="How long the throwaway process that checks a TorchScript archive may run."
    )

    processors: int | None = Field(
        None, ge=1, description="Processors offered to deployments, split among the nodes; default: this machine's."
    )
    ml_memory: str | None = Field(
        None, description="Memory offered to deployments (a byte size such as `8gb`), split among the nodes; "
        "default: this machine's."
    )
    nodes: int = Field(1, ge=1, le=64, description="Virtual nodes the machine is split into, each with its own workers.")
    cluster: ClusterKind = Field(
        ClusterKind.LOCAL, description="Where workers run: `local` (this machine) or `ray` (the nodes of a Ray cluster "
        "that offer the `inferd_ml` resource; needs the `ray` extra)."
    )
    ray_address: str | None = Field(
        None, description="The Ray cluster with `--cluster ray`: `auto`, its GCS address `host:6379`, or "
        "`ray://host:10001`; default: auto (the cluster `ray start` started on this machine, or RAY_ADDRESS)."
    )
    worker_orphan_timeout_s: float = Field(
        60.0, gt=0, le=86400, description="With `--cluster ray`: how long a worker outlives its server (a crash, or a "
        "stop) waiting for the next server of this data dir to adopt it before it ends by itself (seconds)."
    )
    max_deployments: int = Field(100, ge=1, description="Deployments that may exist at once (Elasticsearch: 100).")
    max_batch_documents: int = Field(
        16, ge=1, le=1024, description="Default batch limit: the most documents a free allocation takes at once."
    )
    max_batch_tokens: int = Field(
        384, ge=1, le=1_048_576, description="The most padded tokens one forward pass takes: long sequences run in "
        "smaller batches, which bounds the activation memory each concurrent allocation adds."
    )
    adaptive_allocations_interval_s: float = Field(
        10.0, gt=0, le=3600, description="How often the adaptive allocations scaler reads the load (seconds)."
    )
    scale_up_cooldown_s: float = Field(
        300.0, ge=0, le=86400, description="After scaling a deployment up, how long the scaler keeps the added "
        "allocations before it may scale down (seconds)."
    )
    scale_to_zero_after_s: float = Field(
        86400.0, ge=60, description="How long an adaptive deployment whose minimum allows it gets no request before "
        "it scales to zero allocations (seconds; at least 60, as Elasticsearch documents)."
    )
    stop_timeout_s: float = Field(60.0, gt=0, description="How long stopping a deployment waits for it to drain.")
    restore_timeout_s: float = Field(
        300.0, gt=0, description="How long readiness waits, after a start, for the stored deployments to serve again."
    )

    security_enabled: bool = Field(
        True, description="Authenticate every request (API keys, basic auth) and check its privileges. Off "
        "(`--no-security`) only for local development: refused with a host that is not loopback."
    )
    tls_cert: Path | None = Field(None, description="PEM certificate (chain) to serve HTTPS with; needs tls_key.")
    tls_key: Path | None = Field(None, description="PEM private key of tls_cert.")
    bootstrap_api_key_file: Path | None = Field(
        None, description="A file holding the admin API key to store at the first start (an encoded key, as `inferd "
        "keys generate` prints), instead of a random one: a container's orchestrator then knows the key without "
        "reading logs. Read at the first start only; the key is also written to data_dir/admin-api-key."
    )
    api_key_cache_ttl_s: float = Field(
        60.0, ge=0, description="How long a verified API key's stored record is reused before it is read again "
        "(invalidation, update and expiry take effect at once regardless on this server, and within a second on "
        "other servers sharing a PostgreSQL store)."
    )
    password_cache_ttl_s: float = Field(
        300.0, ge=0, description="How long a password checked against its scrypt hash is remembered (as a keyed "
        "digest), so basic-auth requests skip the slow check."
    )
    console_session_idle_timeout_s: float = Field(
        1800.0, gt=0, description="A web console session ends after this long without a request from its user "
        "(the live charts, and the reloads they prompt, do not count)."
    )
    console_session_lifespan_s: float = Field(
        28800.0, gt=0, description="A web console session ends this long after sign-in in any case (or when its API "
        "key expires, if sooner)."
    )

    @model_validator(mode="after")
    def _secure_combinations(self) -> Settings:
        if not self.security_enabled and not is_loopback(self.host):
            raise ValueError(
                f"security is disabled (--no-security) but the server would listen on [{self.host}], which is not a "
                "loopback address: anyone who can reach it could change and run models. Remove --no-security, or "
                "listen on 127.0.0.1"
            )
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("TLS needs both --tls-cert and --tls-key")
        return self

    @model_validator(mode="after")
    def _one_machine_options_with_one_machine(self) -> Settings:
        if self.cluster is ClusterKind.RAY and (self.nodes != 1 or self.processors or self.ml_memory):
            raise ValueError("--nodes, --processors and --ml-memory divide this machine; with --cluster ray the nodes, "
                             "their processors and memory are the Ray cluster's")
        return self

    @field_validator("data_dir", "tls_cert", "tls_key", "bootstrap_api_key_file")
    @classmethod
    def _absolute_path(cls, value: Path | None) -> Path | None:
        """Resolved once, here: workers, checks and children may run elsewhere, and logs should say where."""
        return None if value is None else absolute_path(value)

    @field_validator("store_url")
    @classmethod
    def _absolute_sqlite_path(cls, value: str | None) -> str | None:
        return None if value is None else absolute_sqlite_url(value)

    @field_validator("ml_memory")
    @classmethod
    def _byte_size(cls, value: str | None) -> str | None:
        if value is not None:
            parse_byte_size(value, "ml_memory")
        return value

    @property
    def store_description(self) -> str:
        """The store's URL without its password, for logs."""
        from sqlalchemy.engine import make_url

        return make_url(self.resolved_store_url).render_as_string(hide_password=True)

    @property
    def resolved_store_url(self) -> str:
        return self.store_url or f"sqlite:///{self.data_dir / 'inferd.db'}"


def absolute_path(path: Path) -> Path:
    """`path` with `~` expanded, made absolute against the current directory and free of `..` and symlinks."""
    return path.expanduser().resolve()


def absolute_sqlite_url(url: str) -> str:
    """A SQLite URL whose file is relative (`sqlite:///data/x.db`) made absolute; other URLs unchanged."""
    from sqlalchemy.engine import make_url  # only when a store URL is given: the CLI starts without SQLAlchemy

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return url
    if parsed.database.startswith("file:"):  # a URI filename (`?uri=true`): left to the user
        return url
    return parsed.set(database=str(absolute_path(Path(parsed.database)))).render_as_string(hide_password=False)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
