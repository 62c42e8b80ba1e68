"""The canonical customer model: field names, types and roles.

Every source maps onto these fields. A project file may add its own fields
under ``extra_fields``; they behave like attribute fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FieldType = Literal["string", "integer", "float", "boolean", "date", "timestamp"]
FieldRole = Literal["identity", "attribute", "external_id"]


@dataclass(frozen=True)
class CanonicalField:
    """One canonical field: its type and whether it identifies a customer."""

    name: str
    type: FieldType
    role: FieldRole
    description: str


def _field(name: str, type_: FieldType, role: FieldRole, description: str) -> CanonicalField:
    return CanonicalField(name=name, type=type_, role=role, description=description)


CANONICAL_FIELDS: dict[str, CanonicalField] = {
    field.name: field
    for field in [
        _field("full_name", "string", "identity", "person's whole name as one string"),
        _field("first_name", "string", "identity", "given name"),
        _field("middle_name", "string", "identity", "middle names or initials"),
        _field("last_name", "string", "identity", "family name"),
        _field("name_prefix", "string", "identity", "title such as Dr or Ms"),
        _field("name_suffix", "string", "identity", "suffix such as Jr or PhD"),
        _field("email", "string", "identity", "primary email address"),
        _field("phone", "string", "identity", "primary phone number, E.164"),
        _field("address", "string", "identity", "whole postal address as one string"),
        _field("street", "string", "identity", "street line: number and street name"),
        _field("unit", "string", "identity", "apartment, suite or unit"),
        _field("city", "string", "identity", "city or locality"),
        _field("region", "string", "identity", "state, province or region code"),
        _field("postal_code", "string", "identity", "ZIP or postal code"),
        _field("country", "string", "identity", "ISO 3166-1 alpha-2 country code"),
        _field("birth_date", "date", "identity", "date of birth"),
        _field("company_name", "string", "identity", "employer or account name"),
        _field("company_domain", "string", "identity", "registrable web domain of the company"),
        _field(
            "external_id", "string", "external_id", "an ID this record shares with another system"
        ),
        _field("lifecycle_stage", "string", "attribute", "lead, opportunity, customer, churned"),
        _field(
            "subscription_status", "string", "attribute", "trialing, active, past_due, canceled"
        ),
        _field("plan", "string", "attribute", "subscription plan name"),
        _field("mrr", "float", "attribute", "monthly recurring revenue"),
        _field("payment_status", "string", "attribute", "paid, failed, refunded"),
        _field("signup_date", "date", "attribute", "date the customer signed up"),
        _field("last_seen_at", "timestamp", "attribute", "last product activity"),
        _field("open_tickets", "integer", "attribute", "open support tickets"),
        _field("marketing_opt_out", "boolean", "attribute", "customer refused marketing"),
        _field("updated_at", "timestamp", "attribute", "when the source last changed the row"),
    ]
}


def is_external_id_field(name: str) -> bool:
    """Return whether a field holds an ID shared with another system.

    ``external_id`` and any field named ``<system>_id`` (``billing_id``,
    ``crm_id``) are external IDs.
    """
    return name == "external_id" or name.endswith("_id")
