"""Pydantic models for the project file (``accord.yaml``).

These models are the one definition of the project file: validation,
``accord init`` and the documentation all come from them.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from accord.standardize.config import StandardizeConfig
from accord.store.duckdb_store import MIN_MEMORY_LIMIT, MIN_MEMORY_LIMIT_TEXT, memory_limit_bytes

NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
CastType = Literal["string", "integer", "float", "boolean", "date", "timestamp"]
DateOrder = Literal["YMD", "MDY", "DMY"]


class StrictModel(BaseModel):
    """Base for every project-file section: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class StoreConfig(StrictModel):
    """Location and memory cap of the DuckDB store."""

    kind: Literal["duckdb"] = Field("duckdb", description="store engine")
    path: str = Field("accord.duckdb", description="DuckDB file, relative to the project file")
    memory_limit: str | None = Field(
        "2GB",
        description="memory cap of each DuckDB connection, such as '2GB' or '1.5GiB', at least "
        f"{MIN_MEMORY_LIMIT_TEXT}; DuckDB spills to disk beyond it. While the match model trains "
        "and scores pairs, the store keeps a quarter of it and the working connection gets the "
        "rest. Null keeps DuckDB's default of 80% of the machine's memory",
    )

    @field_validator("memory_limit", mode="before")
    @classmethod
    def _valid_memory_limit(cls, value: Any) -> Any:
        # YAML reads a bare 4096 as a number, which lacks the unit DuckDB requires.
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            return value
        size = memory_limit_bytes(value)
        if size is None:
            raise ValueError(
                f"'{value}' is not a valid memory size: use a number and a unit such as '2GB', "
                "'512MB' or '1.5GiB', or null for DuckDB's default"
            )
        if size < MIN_MEMORY_LIMIT:
            raise ValueError(
                f"'{value}' is below the minimum of {MIN_MEMORY_LIMIT_TEXT}, under which DuckDB "
                f"runs out of memory; set at least '{MIN_MEMORY_LIMIT_TEXT}'"
            )
        return value


class SplitSpec(StrictModel):
    """Take one part of a source column split by a separator."""

    from_: str = Field(alias="from", description="source column to split")
    separator: str = Field(" ", description="text between parts")
    index: int = Field(description="part to take; 0 is the first, -1 the last")


class FieldMapping(StrictModel):
    """Derivation of one canonical field from a source record.

    Exactly one of ``from``, ``concat``, ``split``, ``constant`` and ``expr``
    is set. A plain string in the project file is shorthand for ``from``.
    """

    from_: str | None = Field(None, alias="from", description="source column to copy")
    concat: list[str] | None = Field(None, description="source columns joined by 'separator'")
    separator: str = Field(" ", description="separator for 'concat'")
    split: SplitSpec | None = Field(None, description="one part of a split source column")
    constant: str | int | float | bool | None = Field(None, description="fixed value")
    expr: str | None = Field(
        None, description="DuckDB SQL expression over the source columns, quoted as identifiers"
    )
    cast: CastType | None = Field(None, description="type to convert the value to")
    values: dict[str, str | None] | None = Field(
        None, description="enumeration map from source values to canonical values"
    )
    unmapped: Literal["quarantine", "pass", "null"] = Field(
        "quarantine", description="what to do with a value missing from 'values'"
    )
    on_cast_error: Literal["quarantine", "null"] = Field(
        "quarantine", description="what to do when 'cast' fails"
    )

    @model_validator(mode="after")
    def _exactly_one_input(self) -> FieldMapping:
        given = [
            name
            for name, value in (
                ("from", self.from_),
                ("concat", self.concat),
                ("split", self.split),
                ("constant", self.constant),
                ("expr", self.expr),
            )
            if value is not None
        ]
        if len(given) != 1:
            found = ", ".join(given) if given else "none"
            raise ValueError(
                f"set exactly one of 'from', 'concat', 'split', 'constant', 'expr' (found: {found})"
            )
        return self

    def source_columns(self) -> list[str]:
        """Return the source columns this mapping reads directly (not via ``expr``)."""
        if self.from_ is not None:
            return [self.from_]
        if self.concat is not None:
            return list(self.concat)
        if self.split is not None:
            return [self.split.from_]
        return []


def _coerce_mapping(value: Any) -> Any:
    if isinstance(value, str):
        return {"from": value}
    return value


MappingValue = Annotated[FieldMapping, Field()]


class SourceBase(StrictModel):
    """Settings that every source kind shares."""

    name: str = Field(description="unique source name: lowercase letters, digits, underscores")
    primary_key: str | list[str] = Field(description="source column(s) that identify a row")
    cursor: str | None = Field(
        None, description="column that grows when a row changes; enables incremental reads"
    )
    deleted_flag: str | None = Field(
        None, description="column whose true or non-empty value marks a row deleted at the source"
    )
    fields: dict[str, FieldMapping] = Field(
        description="canonical field name to source column or derivation"
    )
    entity_type: Literal["person", "organization"] = Field(
        "person", description="kind of customer the rows describe"
    )
    region: str | None = Field(
        None, description="phone region for this source; overrides standardize.default_region"
    )
    date_order: DateOrder | None = Field(
        None, description="day/month order of ambiguous dates in this source"
    )

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not re.match(NAME_PATTERN, value):
            raise ValueError(
                f"'{value}' is not a valid source name: use lowercase letters, digits and "
                "underscores, starting with a letter"
            )
        return value

    @field_validator("fields", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {key: _coerce_mapping(item) for key, item in value.items()}
        return value

    @property
    def key_columns(self) -> list[str]:
        """Return the primary key as a list of source columns."""
        if isinstance(self.primary_key, str):
            return [self.primary_key]
        return list(self.primary_key)


class CsvSource(SourceBase):
    """A CSV file."""

    kind: Literal["csv"]
    path: str = Field(description="file path, relative to the project file")
    encoding: str | None = Field(
        None, description="text encoding such as utf-8, utf-16 or latin-1; detected when unset"
    )
    delimiter: str | None = Field(None, description="field separator; detected when unset")
    quotechar: str = Field('"', description="quote character")


class JsonSource(SourceBase):
    """A JSON file holding an array of objects, or JSON Lines with one object per line."""

    kind: Literal["json", "jsonl"]
    path: str = Field(description="file path, relative to the project file")
    records_path: str | None = Field(
        None, description="dotted path to the array of records inside a JSON document"
    )


class ParquetSource(SourceBase):
    """A Parquet file."""

    kind: Literal["parquet"]
    path: str = Field(description="file path, relative to the project file")


class SqlSource(SourceBase):
    """A table or query in a SQL database reached through SQLAlchemy."""

    kind: Literal["sql"]
    url: str = Field(
        description="SQLAlchemy URL; '${VAR}' is replaced from the environment at run time"
    )
    table: str | None = Field(None, description="table to read")
    query: str | None = Field(None, description="SELECT statement to read instead of a table")
    db_schema: str | None = Field(None, alias="schema", description="database schema of 'table'")

    @model_validator(mode="after")
    def _table_or_query(self) -> SqlSource:
        if (self.table is None) == (self.query is None):
            raise ValueError("set exactly one of 'table' and 'query'")
        return self


class RestAuth(StrictModel):
    """Credentials for a REST API, always read from the environment."""

    type: Literal["bearer", "header", "api_key_query"] = Field(
        "bearer", description="bearer token, custom header, or query parameter"
    )
    token_env: str = Field(description="environment variable that contains the token")
    name: str | None = Field(
        None, description="header or query parameter name for 'header' and 'api_key_query'"
    )


class RestPaginator(StrictModel):
    """Pagination of the API's results."""

    type: Literal["page_number", "offset", "cursor", "json_link", "header_link", "single_page"]
    page_param: str | None = Field(None, description="query parameter for the page or offset")
    limit_param: str | None = Field(None, description="query parameter for the page size")
    limit: int | None = Field(None, description="page size")
    total_path: str | None = Field(None, description="response path of the total count")
    cursor_path: str | None = Field(None, description="response path of the next cursor")
    cursor_param: str | None = Field(None, description="query parameter carrying the cursor")
    next_url_path: str | None = Field(None, description="response path of the next page URL")
    base_page: int = Field(1, description="number of the first page for 'page_number'")


class RestIncremental(StrictModel):
    """Ask the API only for rows changed since the last successful run."""

    param: str = Field(description="query parameter that takes the last cursor value")
    initial_value: str | None = Field(None, description="value sent on the first run")


class RestSource(SourceBase):
    """A JSON REST API, read through dlt's rest_api source."""

    kind: Literal["rest_api"]
    base_url: str = Field(description="API root, for example https://api.example.com/v1/")
    path: str = Field(description="resource path under base_url, for example 'contacts'")
    params: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="fixed query parameters"
    )
    data_selector: str | None = Field(
        None, description="response path of the records list; detected when unset"
    )
    paginator: RestPaginator | None = Field(None, description="pagination; detected when unset")
    auth: RestAuth | None = Field(None, description="authentication")
    incremental: RestIncremental | None = Field(None, description="incremental parameter")


Source = Annotated[
    CsvSource | JsonSource | ParquetSource | SqlSource | RestSource,
    Field(discriminator="kind"),
]
SOURCE_KINDS = ("csv", "json", "jsonl", "parquet", "sql", "rest_api")


class QualityRule(StrictModel):
    """A declarative check; a record that fails it is quarantined."""

    rule: Literal["required", "pattern", "allowed", "range", "one_of_present"]
    field: str | None = Field(None, description="canonical field the rule checks")
    fields: list[str] | None = Field(None, description="fields for 'one_of_present'")
    pattern: str | None = Field(None, description="regular expression for 'pattern'")
    values: list[str | int | float | bool] | None = Field(
        None, description="allowed values for 'allowed'"
    )
    min: float | None = Field(None, description="lower bound for 'range'")
    max: float | None = Field(None, description="upper bound for 'range'")
    sources: list[str] | None = Field(
        None, description="sources the rule applies to; all when unset"
    )
    name: str | None = Field(None, description="rule name shown in quarantine")

    @model_validator(mode="after")
    def _arguments(self) -> QualityRule:
        needs: dict[str, tuple[str, ...]] = {
            "required": ("field",),
            "pattern": ("field", "pattern"),
            "allowed": ("field", "values"),
            "range": ("field",),
            "one_of_present": ("fields",),
        }
        missing = [key for key in needs[self.rule] if getattr(self, key) is None]
        if missing:
            raise ValueError(f"rule '{self.rule}' needs {', '.join(repr(m) for m in missing)}")
        if self.rule == "range" and self.min is None and self.max is None:
            raise ValueError("rule 'range' needs 'min', 'max' or both")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {self.pattern!r}: {exc}") from exc
        return self

    @property
    def label(self) -> str:
        """Return the rule name, or one made from the rule and its field."""
        if self.name:
            return self.name
        target = self.field or "+".join(self.fields or [])
        return f"{self.rule}:{target}"


class ExtraField(StrictModel):
    """A canonical field added by the project."""

    type: CastType = Field("string", description="value type")
    role: Literal["identity", "attribute", "external_id"] = Field("attribute")


ComparisonName = Literal["name", "email", "phone", "address", "birth_date", "company"]
SurvivorshipRule = Literal[
    "source_priority",
    "most_recent",
    "most_frequent",
    "most_complete",
    "longest",
    "sum",
    "max",
    "min",
    "count",
    "union",
]
AGGREGATE_RULES = ("sum", "max", "min", "count", "union")


class DeterministicRule(StrictModel):
    """Records that share every listed value are the same customer."""

    name: str = Field(description="rule name shown in explanations")
    fields: list[str] = Field(
        min_length=1, description="standardized fields or keys, for example [email_key]"
    )
    guard: bool = Field(
        True, description="skip the link when the two records' first names clearly differ"
    )


class TrainingConfig(StrictModel):
    """Settings for estimating the match model."""

    max_pairs: int = Field(
        2_000_000, gt=0, description="random pairs sampled to estimate u probabilities"
    )
    seed: int = Field(42, description="random seed for sampling")


class MatchingConfig(StrictModel):
    """Identity resolution settings."""

    auto_merge: float = Field(
        0.95, ge=0, le=1, description="match probability at or above which records merge"
    )
    review: float = Field(
        0.80, ge=0, le=1, description="match probability at or above which a pair is reviewed"
    )
    deterministic: list[DeterministicRule] | None = Field(
        None,
        description="stitching rules; when unset, every external ID field and email_key",
    )
    max_group_size: int = Field(
        20,
        ge=2,
        description="a value shared by more records than this (a switchboard number, a role "
        "mailbox) is not used to stitch",
    )
    max_block_pairs: int | None = Field(
        10_000,
        ge=1,
        description="a blocking key that would make more pairs than this (a very common name) "
        "makes none under its rule; null for no cap",
    )
    comparisons: list[ComparisonName] | None = Field(
        None, description="comparisons in the match model; when unset, every one the data supports"
    )
    blocking: list[list[str]] | None = Field(
        None,
        description="blocking rules as lists of fields that must be equal; derived when unset",
    )
    distinguishing: list[Literal["first_name", "birth_date"]] = Field(
        default_factory=lambda: ["first_name"],  # type: ignore[arg-type]
        description="fields whose clear disagreement forbids a link (household members, twins)",
    )
    training: TrainingConfig = Field(default_factory=lambda: TrainingConfig())
    organizations: bool = Field(
        True, description="also resolve organizations from company names and domains"
    )

    @field_validator("max_group_size", "max_block_pairs", mode="before")
    @classmethod
    def _count_not_boolean(cls, value: Any) -> Any:
        # Pydantic reads true as 1, which as a cap would drop nearly every block.
        if isinstance(value, bool):
            raise ValueError(f"expected a whole number, got {str(value).lower()}")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> MatchingConfig:
        if self.review > self.auto_merge:
            raise ValueError("'review' must not be greater than 'auto_merge'")
        return self


class FieldSurvivorship(StrictModel):
    """Survivorship rules for one golden field."""

    rules: list[SurvivorshipRule] = Field(
        min_length=1, description="rules in order; a tie falls through to the next"
    )
    sources: list[str] | None = Field(
        None, description="sources in priority order, for 'source_priority'"
    )

    @model_validator(mode="after")
    def _consistent(self) -> FieldSurvivorship:
        aggregates = [rule for rule in self.rules if rule in AGGREGATE_RULES]
        if aggregates and len(self.rules) > 1:
            raise ValueError(
                f"aggregate rule '{aggregates[0]}' combines every value, so it must be the only "
                "rule for the field"
            )
        if "source_priority" in self.rules and not self.sources:
            raise ValueError("rule 'source_priority' needs 'sources' in priority order")
        return self


class SurvivorshipConfig(StrictModel):
    """Field-level survivorship settings."""

    default: list[SurvivorshipRule] = Field(
        default_factory=lambda: ["most_recent", "most_complete"],  # type: ignore[arg-type]
        description="rules for fields without their own entry",
    )
    fields: dict[str, FieldSurvivorship] = Field(
        default_factory=dict, description="rules per canonical field"
    )

    @field_validator("default")
    @classmethod
    def _no_aggregate_default(cls, value: list[str]) -> list[str]:
        bad = [rule for rule in value if rule in AGGREGATE_RULES or rule == "source_priority"]
        if bad:
            raise ValueError(
                f"rule '{bad[0]}' cannot be a default; set it per field under 'fields'"
            )
        return value


class Project(StrictModel):
    """A whole project file."""

    version: Literal[1] = Field(1, description="project file format version")
    name: str = Field("accord", description="project name")
    store: StoreConfig = Field(default_factory=lambda: StoreConfig())
    extra_fields: dict[str, ExtraField] = Field(default_factory=dict)
    standardize: StandardizeConfig = Field(default_factory=lambda: StandardizeConfig())
    sources: list[Source] = Field(description="systems to read customers from")
    quality: list[QualityRule] = Field(default_factory=list)
    matching: MatchingConfig = Field(default_factory=lambda: MatchingConfig())
    survivorship: SurvivorshipConfig = Field(default_factory=lambda: SurvivorshipConfig())
    destinations: list[Destination] = Field(
        default_factory=list, description="tools that golden records are written back to"
    )
    triggers: list[Trigger] = Field(
        default_factory=list, description="actions taken when golden records change"
    )
    stream: StreamConfig = Field(
        default_factory=lambda: StreamConfig(),
        description="the long-running worker ('accord serve'): change intake per source",
    )

    @field_validator("extra_fields")
    @classmethod
    def _valid_field_names(cls, value: dict[str, ExtraField]) -> dict[str, ExtraField]:
        for name in value:
            if not re.fullmatch(NAME_PATTERN, name):
                raise ValueError(
                    f"'{name}' is not a valid field name: use lowercase letters, digits and "
                    "underscores, starting with a letter"
                )
        return value

    def source(self, name: str) -> CsvSource | JsonSource | ParquetSource | SqlSource | RestSource:
        """Return the source called ``name``."""
        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.sources)
        raise KeyError(f"no source named '{name}'; known sources: {known}")


# Destinations and triggers: where golden records are written back, and what
# happens when a golden record changes.

SyncMode = Literal["update", "upsert", "insert", "mirror"]
JsonScalar = str | int | float | bool
SUPPRESSION_FIELDS = ("entity_id", "list_name", "email", "reason", "added_at")


class DestinationField(StrictModel):
    """Mapping of one golden field to a field of the destination tool.

    A plain string in the project file is shorthand for ``to``.
    """

    to: str = Field(description="the tool's field or column")
    values: dict[str, JsonScalar | None] | None = Field(
        None,
        description="map from golden values to the tool's values; a value not listed is sent "
        "as it is",
    )


class DestinationKey(StrictModel):
    """Key that identifies a golden record in the destination tool."""

    source: str | None = Field(
        None,
        description="source whose member record keys identify the tool's records, so one "
        "golden record can map to several tool records; when unset, the entity ID",
    )
    column: str = Field("entity_id", description="the tool's field or column with the key")


class HttpRetry(StrictModel):
    """Retries of a failed HTTP request (timeouts, 429 and 5xx responses)."""

    max_attempts: int = Field(6, ge=1, description="requests per change, the first included")
    backoff_seconds: float = Field(
        0.5, gt=0, description="delay before the first retry; it doubles with each retry"
    )
    max_backoff_seconds: float = Field(60.0, gt=0, description="upper bound of one delay")
    timeout_seconds: float = Field(30.0, gt=0, description="timeout of one request")


class DestinationBase(StrictModel):
    """Settings that every destination kind shares."""

    name: str = Field(description="unique destination name: lowercase letters, digits, underscores")
    fields: dict[str, DestinationField] = Field(
        min_length=1, description="golden field name to the tool's field"
    )
    key: DestinationKey = Field(default_factory=lambda: DestinationKey())
    mode: SyncMode = Field(
        "upsert",
        description="update: only records the tool has; upsert: update or create; insert: only "
        "create; mirror: upsert and delete records that no longer qualify",
    )
    filter: str | None = Field(
        None,
        description="DuckDB SQL condition over golden fields (as text) that a record must meet",
    )
    entity_type: Literal["person", "organization"] = Field(
        "person", description="kind of golden record to write"
    )
    suppression_list: str | None = Field(
        None,
        description="write the entries of this suppression list instead of golden records; "
        f"fields then come from {', '.join(SUPPRESSION_FIELDS)}",
    )
    batch_size: int = Field(500, gt=0, description="changes written and committed together")

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not re.match(NAME_PATTERN, value):
            raise ValueError(
                f"'{value}' is not a valid destination name: use lowercase letters, digits and "
                "underscores, starting with a letter"
            )
        return value

    @field_validator("fields", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                key: {"to": item} if isinstance(item, str) else item for key, item in value.items()
            }
        return value

    @model_validator(mode="after")
    def _suppression_keyed_by_entity(self) -> DestinationBase:
        if self.suppression_list is not None and self.key.source is not None:
            raise ValueError(
                "a suppression list destination is keyed by entity ID; remove 'key.source'"
            )
        return self


class SqlDestination(DestinationBase):
    """A table in a SQL database reached through SQLAlchemy.

    The key column needs a primary key or unique constraint, because inserts
    are upserts.
    """

    kind: Literal["sql"]
    url: str = Field(
        description="SQLAlchemy URL; '${VAR}' is replaced from the environment at run time"
    )
    table: str = Field(description="table to write")
    db_schema: str | None = Field(None, alias="schema", description="database schema of 'table'")


class DestinationAuth(StrictModel):
    """Credentials for an HTTP destination, always read from the environment."""

    type: Literal["bearer", "header"] = Field(
        "bearer", description="'Authorization: Bearer' token or a custom header"
    )
    token_env: str = Field(description="environment variable with the token")
    header: str | None = Field(None, description="header name for type 'header'")

    @model_validator(mode="after")
    def _header_named(self) -> DestinationAuth:
        if self.type == "header" and not self.header:
            raise ValueError("auth type 'header' needs 'header', the header name")
        return self


class RestDestination(DestinationBase):
    """A JSON REST API: one request per changed record, or batches on ``batch_path``."""

    kind: Literal["rest_api"]
    base_url: str = Field(description="API root, for example https://api.example.com/v1/")
    method: Literal["PATCH", "PUT", "POST"] = Field(
        "PATCH", description="method that updates one record"
    )
    path: str = Field(description="path of one record under base_url, with '{key}'")
    insert_method: Literal["POST", "PUT"] = Field(
        "POST", description="method that creates one record"
    )
    insert_path: str | None = Field(
        None, description="path that creates a record, '{key}' allowed; 'path' when unset"
    )
    delete_path: str | None = Field(
        None, description="path that deletes a record, with '{key}'; 'path' when unset"
    )
    batch_path: str | None = Field(
        None,
        description="path that takes up to 'batch_size' changes in one POST as "
        '{"records": [...]}; one request per change when unset',
    )
    auth: DestinationAuth | None = Field(None, description="authentication")
    rate_limit: float | None = Field(None, gt=0, description="maximum requests per second")
    requests_per_commit: int = Field(
        1,
        gt=0,
        description="requests sent before their outcomes are committed; a sync killed part-way "
        "sends at most this many again, with the same idempotency keys",
    )
    retry: HttpRetry = Field(default_factory=lambda: HttpRetry())

    @model_validator(mode="after")
    def _key_in_paths(self) -> RestDestination:
        for name in ("path", "delete_path"):
            value = getattr(self, name)
            if value is not None and "{key}" not in value:
                raise ValueError(f"'{name}' must contain '{{key}}', for example 'contacts/{{key}}'")
        return self


class WebhookDestination(DestinationBase):
    """POST of each change as JSON, signed with HMAC-SHA256 in ``X-Accord-Signature``."""

    kind: Literal["webhook"]
    url: str = Field(description="URL that receives the POST requests")
    secret_env: str = Field(description="environment variable with the signing secret")
    rate_limit: float | None = Field(None, gt=0, description="maximum requests per second")
    requests_per_commit: int = Field(
        1,
        gt=0,
        description="requests sent before their outcomes are committed; a sync killed part-way "
        "sends at most this many again, with the same idempotency keys",
    )
    concurrency: int = Field(
        4,
        ge=1,
        description="requests in flight at once among those committed together. The changes "
        "of one record or entity are sent one after another, in order",
    )
    retry: HttpRetry = Field(default_factory=lambda: HttpRetry())


class FileDestination(DestinationBase):
    """A CSV, JSON Lines or Parquet file rewritten whole, through a temporary file and a rename."""

    kind: Literal["csv", "jsonl", "parquet"]
    path: str = Field(description="file path, relative to the project file")


Destination = Annotated[
    SqlDestination | RestDestination | WebhookDestination | FileDestination,
    Field(discriminator="kind"),
]
DESTINATION_KINDS = ("sql", "rest_api", "webhook", "csv", "jsonl", "parquet")


class TriggerWhen(StrictModel):
    """The golden-record change that fires a trigger."""

    event: Literal["changed", "created", "merged"] = Field(
        "changed",
        description="changed: a golden field changed; created: a new entity; merged: an entity "
        "absorbed another",
    )
    field: str | None = Field(None, description="golden field for 'changed'")
    from_: JsonScalar | None = Field(
        None, alias="from", description="fire only when the old value is this"
    )
    to: JsonScalar | None = Field(None, description="fire only when the new value is this")

    @model_validator(mode="after")
    def _arguments(self) -> TriggerWhen:
        if self.event == "changed" and self.field is None:
            raise ValueError("event 'changed' needs 'field'")
        if self.event != "changed" and (
            self.field is not None or self.from_ is not None or self.to is not None
        ):
            raise ValueError(f"event '{self.event}' takes no 'field', 'from' or 'to'")
        return self


class SyncAction(StrictModel):
    """Sync the changed entities to named destinations at once."""

    type: Literal["sync"]
    destinations: list[str] = Field(min_length=1, description="destination names")


class WebhookAction(StrictModel):
    """POST the change as JSON, signed like a webhook destination."""

    type: Literal["webhook"]
    url: str = Field(description="URL that receives the POST")
    secret_env: str = Field(description="environment variable with the signing secret")
    retry: HttpRetry = Field(default_factory=lambda: HttpRetry())


class NatsAction(StrictModel):
    """Publish the change as a JSON message to a NATS subject."""

    type: Literal["nats"]
    url: str = Field("nats://127.0.0.1:4222", description="NATS server URL")
    subject: str = Field(description="subject to publish to")
    jetstream: bool = Field(
        False, description="publish through JetStream with a Nats-Msg-Id header for deduplication"
    )


class RedisAction(StrictModel):
    """Append the change to a Redis stream with XADD."""

    type: Literal["redis"]
    url: str = Field("redis://127.0.0.1:6379/0", description="Redis URL")
    stream: str = Field(description="stream key")
    maxlen: int | None = Field(None, gt=0, description="approximate maximum stream length")


class SuppressAction(StrictModel):
    """Add the entity to a suppression list."""

    type: Literal["suppress"]
    list_name: str = Field(alias="list", description="suppression list name")
    reason: str | None = Field(None, description="reason stored with the entry")


TriggerAction = Annotated[
    SyncAction | WebhookAction | NatsAction | RedisAction | SuppressAction,
    Field(discriminator="type"),
]


class Trigger(StrictModel):
    """A rule on golden-record changes of a run, with the actions it takes."""

    name: str = Field(description="unique trigger name shown in the trigger log")
    when: TriggerWhen
    actions: list[TriggerAction] = Field(min_length=1)


# The long-running worker: where changes come in and how often they are processed.


class WebhookIntake(StrictModel):
    """Changes POSTed to ``/ingest/{source}``."""

    enabled: bool = Field(True, description="accept POST /ingest/{source} for this source")
    secret_env: str | None = Field(
        None,
        description="environment variable with the HMAC-SHA256 secret; when set, every request "
        "needs 'X-Accord-Signature: sha256=<hex>' over the body",
    )


class NatsIntake(StrictModel):
    """A JetStream durable pull consumer; each message is one change as JSON."""

    url: str = Field("nats://127.0.0.1:4222", description="NATS server URL")
    stream: str = Field(description="JetStream stream name, created when missing")
    subject: str = Field(description="subject the changes are published to")
    durable: str = Field("accord", description="durable consumer name")
    batch: int = Field(100, gt=0, description="messages fetched per request")


class RedisIntake(StrictModel):
    """A Redis Streams consumer group; each entry's 'data' field is one change as JSON."""

    url: str = Field("redis://127.0.0.1:6379/0", description="Redis URL")
    stream: str = Field(description="stream key")
    group: str = Field("accord", description="consumer group, created when missing")
    consumer: str = Field("accord-1", description="consumer name within the group")
    batch: int = Field(100, gt=0, description="entries read per request")


class PostgresIntake(StrictModel):
    """PostgreSQL logical replication of one table through the test_decoding plugin."""

    dsn: str = Field(
        description="libpq connection string or URL; '${VAR}' is replaced from the environment"
    )
    table: str = Field(description="replicated table as schema.table, for example public.contacts")
    slot: str = Field("accord", description="replication slot, created when missing")


class PollIntake(StrictModel):
    """Re-read a batch source past its saved cursor at a fixed interval."""

    interval_seconds: float = Field(30.0, gt=0, description="seconds between two reads")


class StreamSourceConfig(StrictModel):
    """The intakes of one source; a source may have several."""

    webhook: WebhookIntake = Field(default_factory=lambda: WebhookIntake())
    nats: NatsIntake | None = Field(None, description="JetStream consumer")
    redis: RedisIntake | None = Field(None, description="Redis Streams consumer group")
    postgres: PostgresIntake | None = Field(None, description="PostgreSQL logical replication")
    poll: PollIntake | None = Field(None, description="polling by cursor")


# DuckDB starts one OS thread per configured thread, whatever the core count.
MAX_QUERY_THREADS = 256


class StreamConfig(StrictModel):
    """Settings of the long-running worker ('accord serve')."""

    host: str = Field("127.0.0.1", description="address the HTTP server listens on")
    port: int = Field(8765, ge=0, le=65535, description="HTTP port; 0 picks a free port")
    batch_size: int = Field(1000, gt=0, description="maximum changes processed together")
    idle_seconds: float = Field(
        0.2,
        gt=0,
        description="maximum pause between two checks for new changes when none are waiting; "
        "an intake that commits changes ends the pause at once",
    )
    max_body_bytes: int = Field(10_000_000, gt=0, description="largest accepted request body")
    query_threads: int = Field(
        1,
        gt=0,
        le=MAX_QUERY_THREADS,
        description="DuckDB threads per query while the worker applies micro-batches; a batch "
        "resolution that trains the first model uses every core",
    )
    sources: dict[str, StreamSourceConfig] = Field(
        default_factory=dict,
        description="intake settings per source name; a source not listed accepts webhooks "
        "without a signature",
    )

    @field_validator("query_threads", mode="before")
    @classmethod
    def _threads_not_boolean(cls, value: Any) -> Any:
        # Pydantic reads true as 1.
        if isinstance(value, bool):
            raise ValueError(f"expected a whole number, got {str(value).lower()}")
        return value
