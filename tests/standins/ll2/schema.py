"""Validate LL2 payloads against the official LL2 2.3.0 OpenAPI schema.

Two adjustments make the schema usable with openapi-schema-validator:

- drf-spectacular writes a nullable reference as `{"allOf": [{"$ref": ...}], "nullable": true}`.
  OpenAPI 3.0.3 only honours `nullable` next to a `type`, so a validator rejects null there,
  although the API sends null (an astronaut without agency or image). Such schemas are
  rewritten to accept null explicitly.
- The real API sends null for a few references that the schema declares non-nullable
  (`KNOWN_NULL_REFERENCES`, seen in recorded station responses); those are made nullable.
- Responses are validated with the read validator, so missing `readOnly` required fields
  (`id`, `url`, `response_mode`) are reported instead of being skipped as in a request.
"""

from __future__ import annotations

import copy
import json
import logging
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS30ReadValidator, oas30_format_checker

log = logging.getLogger(__name__)

SCHEMA_RELATIVE_PATH = Path("schema") / "ll2-2.3.0-openapi.json"

# The component each response mode's expedition records must match.
EXPEDITION_SCHEMA_BY_MODE = {
    "detailed": "ExpeditionDetailed",
    "normal": "ExpeditionNormal",
    "list": "ExpeditionMini",
}

PAGE_SCHEMA = "PaginatedPolymorphicExpeditionEndpointList"

# (component, property) pairs that LL2 2.3.0 sends as null although the schema forbids it:
# an empty docking port, and a docking event whose chaser is of another kind.
KNOWN_NULL_REFERENCES = (
    ("DockingLocationSerializerForSpacestation", "currently_docked"),
    ("DockingEventDetailedSerializerForSpacestation", "flight_vehicle_chaser"),
    ("DockingEventDetailedSerializerForSpacestation", "space_station_chaser"),
    ("DockingEventDetailedSerializerForSpacestation", "payload_flight_chaser"),
)


class SchemaViolation(AssertionError):
    """A payload that does not match the LL2 schema; the message lists every error found."""


def accept_null_where_nullable(node: Any) -> Any:
    """Rewrite every `nullable` schema without a `type` so that it accepts null."""
    if isinstance(node, list):
        return [accept_null_where_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node

    rewritten = {key: accept_null_where_nullable(value) for key, value in node.items()}
    if rewritten.get("nullable") is True and "type" not in rewritten:
        inner = {key: value for key, value in rewritten.items() if key != "nullable"}
        return {"anyOf": [inner, {"enum": [None]}]}
    return rewritten


class LL2Schema:
    """The LL2 OpenAPI components, ready to validate payloads by component name."""

    def __init__(self, document: dict[str, Any]) -> None:
        components = copy.deepcopy(document["components"])
        for component, name in KNOWN_NULL_REFERENCES:
            properties = components["schemas"][component]["properties"]
            properties[name] = {"allOf": [properties[name]], "nullable": True}
        self.components = accept_null_where_nullable(components)
        self._validators: dict[str, Any] = {}

    @classmethod
    def from_shared_dir(cls, shared_ll2_dir: Path) -> LL2Schema:
        """Load the schema file from the recorded LL2 folder."""
        return load_schema(Path(shared_ll2_dir) / SCHEMA_RELATIVE_PATH)

    def validator(self, component: str) -> Any:
        """Return a cached validator for one component of `components/schemas`."""
        validator = self._validators.get(component)
        if validator is None:
            if component not in self.components["schemas"]:
                raise KeyError(f"no component named {component!r} in the LL2 schema")
            # The local `$ref`s resolve against this root, which carries all components.
            root = {"components": self.components, "allOf": [{"$ref": f"#/components/schemas/{component}"}]}
            validator = OAS30ReadValidator(root, format_checker=oas30_format_checker)
            self._validators[component] = validator
        return validator

    def errors(self, component: str, instance: Any) -> list[ValidationError]:
        """Return every validation error of `instance` against `component`."""
        return list(self.validator(component).iter_errors(instance))

    def validate(self, component: str, instance: Any, *, label: str = "payload") -> None:
        """Raise SchemaViolation listing the errors of `instance` against `component`."""
        errors = self.errors(component, instance)
        if errors:
            raise SchemaViolation(describe_errors(label, component, errors))

    def validate_expedition_page(self, page: Any, mode: str) -> None:
        """Validate a paginated expedition response and each record against its mode's schema."""
        self.validate(PAGE_SCHEMA, {**page, "results": []}, label="page envelope")
        record_schema = EXPEDITION_SCHEMA_BY_MODE[mode]
        for position, record in enumerate(page["results"]):
            label = f"record {position} (id {record.get('id') if isinstance(record, dict) else '?'})"
            self.validate(record_schema, record, label=label)
            # The schema's discriminated union picks the record schema by response_mode.
            if record.get("response_mode") != mode:
                raise SchemaViolation(f"{label}: response_mode is {record.get('response_mode')!r}, expected {mode!r}")

    def validate_station_page(self, page: Any) -> None:
        """Validate a paginated `/space_stations/?mode=detailed` response."""
        self.validate(PAGE_SCHEMA, {**page, "results": []}, label="page envelope")
        for position, record in enumerate(page["results"]):
            self.validate("SpaceStationDetailedEndpoint", record, label=f"station {position}")


def describe_errors(label: str, component: str, errors: list[ValidationError]) -> str:
    """Format validation errors as one message, with the JSON path of each."""
    lines = [f"{label} does not match {component}: {len(errors)} error(s)"]
    for error in errors[:20]:
        path = "/".join(str(part) for part in error.absolute_path) or "(root)"
        lines.append(f"  at {path}: {error.message[:300]}")
    return "\n".join(lines)


@lru_cache(maxsize=4)
def load_schema(path: Path) -> LL2Schema:
    """Read and prepare the schema file once per path."""
    if not path.is_file():
        raise FileNotFoundError(f"LL2 OpenAPI schema not found: {path}")
    with path.open(encoding="utf-8") as handle:
        document = json.load(handle)
    log.info("loaded LL2 schema %s (%d components)", path, len(document["components"]["schemas"]))
    return LL2Schema(document)
