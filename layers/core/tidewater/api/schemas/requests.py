"""Request bodies and query strings, one model per route that takes one."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from tidewater.domain.cursor import MAX_LENGTH as CURSOR_MAX_LENGTH
from tidewater.domain.identity import MIN_NIGHTSCOUT_SECRET, PASSWORD_RULE
from tidewater.domain.limits import AGP_MAX_DAYS as MAX_AGP_DAYS
from tidewater.domain.limits import COMPARE_MAX_DAYS as MAX_COMPARE_DAYS
from tidewater.domain.limits import POPULATION_MAX_HOURS as MAX_POPULATION_HOURS
from tidewater.domain.limits import SOURCE_TOKEN_MAX as TOKEN_MAX
from tidewater.domain.limits import SOURCE_URL_MAX as URL_MAX

# The same limits the services keep (services/ingest.py, services/nightscout.py).
MAX_DATA_PAGE = 5000
MAX_ENTRIES_COUNT = 10_000

Cursor = Annotated[str, Field(max_length=CURSOR_MAX_LENGTH, description="from a previous page")]


class StrictBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow", defer_build=True)


def requires(*fields: str) -> ConfigDict:
    """Fields the document marks required, declared `absent()`, that the edge
    lets through when absent (a default is not validated; `null` sent is refused): the
    domain's validator reports a missing one together with every other problem in the body,
    with Tidepool's codes, where the edge would stop at the first."""

    def document(schema: dict[str, Any]) -> None:
        schema["required"] = list(fields)
        for name in fields:
            schema["properties"][name].pop("default", None)

    return ConfigDict(json_schema_extra=document)


def absent(description: str | None = None, **documented: Any) -> Any:
    """A field `requires()` names: None when not sent (typed as the value it must be).
    `documented`: JSON Schema keywords the document states and the domain checks."""
    return Field(default=None, description=description, json_schema_extra=documented or None)


class QueryString(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)


# ------------------------------------------------------------------ accounts
class NewUser(StrictBody):
    model_config = requires("email", "password", "fullName")
    email: str = absent(format="email", maxLength=254)
    password: str = absent(description=PASSWORD_RULE, minLength=12)
    fullName: str = absent(minLength=1, maxLength=256, pattern=r"\S")
    # Sign-up makes patients; clinician and researcher are granted by an operator. Any other
    # value passes the edge so that the domain answers `role-not-allowed` at /role.
    role: Annotated[
        Any,
        WithJsonSchema({"type": "string", "enum": ["patient"], "description": "patient only"}),
    ] = None


class NightscoutSecret(StrictBody):
    model_config = requires("secret")
    secret: str = absent(
        description=f"the uploader's API_SECRET; at least {MIN_NIGHTSCOUT_SECRET} characters",
        minLength=MIN_NIGHTSCOUT_SECRET,
    )


class AccountDeletion(StrictBody):
    model_config = requires("password")
    password: str = absent(description="the account's password, given again")


# ------------------------------------------------------------------ uploads
class ClientInfo(StrictBody):
    model_config = requires("name")
    name: str = absent()
    version: str | None = None


class NewDataset(StrictBody):
    model_config = requires("client")
    client: ClientInfo = absent()
    deduplicator: ClientInfo | None = None
    dataSetType: str | None = Field(default=None, description="normal or continuous")


# A datum is a free object at this level: the datum validator (domain/datums) judges it and
# answers with its own pointers (`/3/value`).
Datums = list[dict[str, Any]]
# One entry or an array of them; Nightscout's validator (domain/nightscout.py) judges either
# (the `Any` takes what the array does not). Powertools passes an array on whole only to a
# type that may be one.
Entries = list[dict[str, Any]] | Annotated[Any, WithJsonSchema({"type": "object"})]


# One treatment or an array of them, judged by domain/nightscout_treatments.py.
Treatments = list[dict[str, Any]] | Annotated[Any, WithJsonSchema({"type": "object"})]
# A device status or profile document, or an array of them (domain/nightscout_records.py).
Documents = list[dict[str, Any]] | Annotated[Any, WithJsonSchema({"type": "object"})]


class DataQuery(QueryString):
    startDate: str | None = Field(default=None, description="RFC 3339, with a zone")
    endDate: str | None = Field(default=None, description="RFC 3339, with a zone")
    type: str | None = Field(default=None, description="comma-separated datum types")
    limit: int | None = Field(default=None, ge=1, le=MAX_DATA_PAGE)
    cursor: Cursor | None = None


class DataSetsQuery(QueryString):
    deviceId: str | None = None
    size: int | None = Field(default=None, ge=1, le=1000, description="data sets per page")
    page: int | None = Field(default=None, ge=0, le=1_000_000, description="from 0")


class WhispererQuery(QueryString):
    """tide-whisperer's parameters; the client's others (`carelink`, `dexcom`, `medtronic`,
    `cbgFilter`, `sampleIntervalMinimum`, `dosingDecision.reason`) are taken and ignored."""

    type: str | None = Field(default=None, description="comma-separated datum types")
    startDate: str | None = Field(default=None, description="RFC 3339, with a zone")
    endDate: str | None = Field(default=None, description="RFC 3339, with a zone")
    latest: str | None = Field(default=None, description="true: the newest datum of each type")
    uploadId: str | None = None
    deviceId: str | None = None
    subType: str | None = None


class EntriesQuery(QueryString):
    """Nightscout's `count` and `find[date][$gte]=…`-style filters (kept as extra fields)."""

    count: int | None = Field(default=None, ge=1, le=MAX_ENTRIES_COUNT)


class TreatmentsQuery(QueryString):
    """Nightscout's `count`, `find[created_at][$gte]=…` and `find[eventType]=…` (kept as
    extra fields); `count=0` is all of them (up to the maximum), as Mongo's limit(0)."""

    count: int | None = Field(default=None, ge=0, le=MAX_ENTRIES_COUNT)


# ------------------------------------------------------------------ clinics
class NewClinic(StrictBody):
    model_config = requires("name")
    name: str = absent()


class ClinicianGrant(StrictBody):
    admin: bool | None = None


class PatientJoin(StrictBody):
    shareCode: str | None = Field(default=None, description="the patient's share code")


class PatientsQuery(QueryString):
    """Also filters: `<cgm|bgm>.<metric>=<op><number>` (kept as extra fields). The clinic
    domain checks the values and points at them (`/period`, `/sort`, `/limit`)."""

    period: str | None = Field(default=None, description="1d, 7d, 14d or 30d")
    sort: str | None = Field(
        default=None, description="±<metric> with sortType, ±<cgm|bgm>.<metric>, lastData, fullName"
    )
    sortType: str | None = Field(default=None, description="cgm or bgm")
    limit: str | None = Field(default=None, description="1 to 100")
    offset: str | None = Field(default=None, description="0 to 10000 (or a cursor)")
    search: str | None = Field(default=None, description="in the patients' full names")
    cursor: Cursor | None = None


class TideQuery(QueryString):
    period: str | None = Field(default=None, description="1d, 7d, 14d or 30d")
    lastDataCutoff: str | None = Field(default=None, description="RFC 3339")
    categories: str | None = Field(default=None, description="comma-separated, in this order")
    tags: str | None = Field(default=None, description="echoed: Tidewater keeps no tags")
    excludeNoData: str | None = Field(default=None, description="true or false")


class WindowQuery(QueryString):
    offset: int | None = Field(default=None, ge=0, le=1_000_000)
    limit: int | None = Field(default=None, ge=1, le=1000)


# ------------------------------------------------------------------ followed sites
class SourceLink(StrictBody):
    model_config = requires("url", "token")
    url: str = absent("the Nightscout site's address (https)", maxLength=URL_MAX)
    token: str = absent(
        "an access token or API secret with read access; kept sealed, never shown",
        maxLength=TOKEN_MAX,
    )


# ------------------------------------------------------------------ donation, rights
class ConsentChange(StrictBody):
    model_config = requires("consent")
    consent: bool = absent()


class PopulationChange(StrictBody):
    model_config = requires("share")
    share: bool = absent("show my glucose in the population view, under a daily colour hash")


class PopulationQuery(QueryString):
    hours: int | None = Field(
        default=None, ge=1, le=MAX_POPULATION_HOURS, description="the window, in hours (default 3)"
    )


class ExportQuery(QueryString):
    format: Literal["json", "csv"] | None = None


# ------------------------------------------------------------------ reports
class AgpQuery(QueryString):
    days: int | None = Field(
        default=None, ge=1, le=MAX_AGP_DAYS, description="the period, in days (default 14)"
    )


class SourcesCompareQuery(QueryString):
    days: int | None = Field(
        default=None,
        ge=1,
        le=MAX_COMPARE_DAYS,
        description="the period, in days (default 14), ending at the newest CGM reading",
    )
