"""Project-file settings for the standardize stage."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

StandardizerName = Literal[
    "text",
    "person_name",
    "name_part",
    "email",
    "phone",
    "address",
    "street",
    "unit",
    "city",
    "postal_code",
    "date",
    "timestamp",
    "country",
    "region",
    "company",
    "domain",
    "none",
]


class FieldStandardizer(BaseModel):
    """Which standardizer cleans one canonical field, and how."""

    model_config = ConfigDict(extra="forbid")

    standardizer: StandardizerName
    on_invalid: Literal["null", "quarantine"] = Field(
        "null",
        description="what happens to a record whose value is present but invalid",
    )
    kind: Literal["birth", "event"] | None = Field(
        None, description="for dates: 'birth' rejects future dates and years before 1900"
    )


class StandardizeConfig(BaseModel):
    """Options for the standardize stage."""

    model_config = ConfigDict(extra="forbid")

    default_region: str = Field(
        "US", description="ISO 3166-1 alpha-2 region for phone numbers without a country code"
    )
    placeholders: list[str] | None = Field(
        None, description="values treated as missing; replaces the built-in list when set"
    )
    extra_placeholders: list[str] = Field(
        default_factory=list, description="values treated as missing, added to the built-in list"
    )
    fields: dict[str, FieldStandardizer] = Field(
        default_factory=dict,
        description="standardizer per canonical field; unlisted fields get their default",
    )
