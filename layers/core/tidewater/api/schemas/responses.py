"""What routes answer, for the OpenAPI document: the fields a client may rely on. Answers
carry more (a dataset echoes what its client said about itself): every model keeps extras."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Answer(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)


# ------------------------------------------------------------------ errors
class ErrorSource(Answer):
    pointer: str | None = Field(default=None, description="JSON Pointer into the body")
    parameter: str | None = Field(default=None, description="the query parameter at fault")


class ErrorObject(Answer):
    code: str
    title: str
    detail: str
    status: str
    source: ErrorSource | None = None


class ErrorDocument(Answer):
    errors: list[ErrorObject]


# ------------------------------------------------------------------ accounts
class Profile(Answer):
    userId: str
    fullName: str
    role: str
    createdTime: str


class ProfileEnvelope(Answer):
    data: Profile


class Empty(Answer):
    pass


class TidepoolUser(Answer):
    """shoreline's user (TidepoolApi auth/models/user.v1.yaml), `userId` as well."""

    userid: str
    userId: str
    username: str
    emails: list[str]
    roles: list[str]
    termsAccepted: str
    emailVerified: bool


class TokenData(Answer):
    """TidepoolApi auth/models/tokendata.v1.yaml."""

    userid: str
    isserver: bool


class NightscoutConfigured(Answer):
    data: dict[Literal["nightscout"], Literal["configured"]]


class DeletionState(Answer):
    data: dict[Literal["status"], str]


# ------------------------------------------------------------------ uploads
class Status(Answer):
    status: str
    version: str


class Dataset(Answer):
    id: str
    uploadId: str
    userId: str
    type: str
    dataState: str
    createdTime: str


class DatasetEnvelope(Answer):
    data: Dataset


class UploadMeta(Answer):
    uploadId: str
    received: int
    stored: int
    kept: int


class UploadAnswer(Answer):
    data: list[Any]
    meta: UploadMeta


class DeletedAnswer(Answer):
    data: list[Any]
    meta: dict[Literal["deleted"], int]


class Source(Answer):
    url: str
    linkedTime: str
    lastPolledTime: str | None = Field(default=None, description="absent until first polled")
    lastEntryTime: str | None = Field(default=None, description="the newest entry stored")
    lastError: str | None = Field(default=None, description="why the last poll failed")
    entriesImported: int
    nextPollTime: str | None = None


class SourceEnvelope(Answer):
    data: Source


class PageMeta(Answer):
    count: int
    cursor: str | None = Field(default=None, description="send it back for the next page")


class DataPage(Answer):
    data: list[dict[str, Any]]
    meta: PageMeta


class Versions(Answer):
    schema_: int = Field(alias="schema")
    uploaderMinimum: str


class ClientVersions(Answer):
    """TidepoolApi common/models/minimumclientversions.v1.yaml (jellyfish's /info)."""

    versions: Versions


class ServerTime(Answer):
    data: dict[Literal["time"], str]


# The platform's data sets list, as it answers it: a plain array.
DataSetList = list[Dataset]
# tide-whisperer's read: a plain array of datums.
DataList = list[dict[str, Any]]
# jellyfish's answer (data.v1.yaml LegacyDuplicates): indexes of duplicate datums.
LegacyDuplicates = list[int]

NightscoutEntries = list[dict[str, Any]]


class NightscoutTreatment(Answer):
    """A treatment as stored, with `tidepool`: the datum types it is stored as (none, and
    the reason, when it is kept as a Nightscout treatment only)."""

    eventType: str
    created_at: str
    tidepool: dict[str, Any]


NightscoutTreatments = list[NightscoutTreatment]


NightscoutDocuments = list[dict[str, Any]]


class NightscoutDeleted(Answer):
    n: int
    ok: int


class NightscoutStatus(Answer):
    status: str
    name: str
    version: str
    serverTime: str
    serverTimeEpoch: int
    careportalEnabled: bool
    supported: list[str]
    settings: dict[str, Any]


# ------------------------------------------------------------------ clinics
class ObjectEnvelope(Answer):
    data: dict[str, Any]


class Clinic(Answer):
    """TidepoolApi clinic/models/clinic.v1.yaml (its required fields)."""

    id: str
    name: str
    canMigrate: bool
    createdTime: str
    updatedTime: str
    tier: str
    tierDescription: str
    preferredBgUnits: str
    shareCode: str | None = Field(default=None, description="made with the clinic; single-use")


class Clinician(Answer):
    """TidepoolApi clinic/models/clinician.v1.yaml."""

    id: str
    email: str
    roles: list[str]
    createdTime: str
    updatedTime: str


class PatientSummary(Answer):
    cgmStats: dict[str, Any]
    bgmStats: dict[str, Any]


class ClinicPatient(Answer):
    """TidepoolApi clinic/models/patient.v1.yaml (no birthDate: Tidewater keeps none)."""

    id: str
    fullName: str
    createdTime: str
    updatedTime: str
    connectionRequests: dict[str, Any]
    tags: list[str]
    summary: PatientSummary


class ClinicianClinic(Answer):
    clinic: Clinic
    clinician: Clinician


class PatientClinic(Answer):
    clinic: Clinic
    patient: ClinicPatient


ClinicianClinics = list[ClinicianClinic]
PatientClinics = list[PatientClinic]


class PatientsMeta(Answer):
    count: int = Field(description="patients the filters and search keep")
    totalCount: int = Field(description="all the clinic's patients")
    cursor: str | None = Field(default=None, description="send it back for the next page")


class PatientsPage(Answer):
    """Tidepool's patientsResponse.v1: `{"data": [patient], "meta": {count, totalCount}}`."""

    data: list[ClinicPatient]
    meta: PatientsMeta


class TideConfig(Answer):
    schemaVersion: int
    clinicId: str
    period: str
    highGlucoseThreshold: float
    veryHighGlucoseThreshold: float
    lowGlucoseThreshold: float
    veryLowGlucoseThreshold: float
    tags: list[str]
    filters: dict[str, str]


class TideReport(Answer):
    """TidepoolApi clinic/models/tide/tideResponse.v1.yaml."""

    config: TideConfig
    results: dict[str, list[dict[str, Any]]]


class Summary(Answer):
    """Tidepool's summary shape, unwrapped: `cgm`, `bgm` and `dates`."""


# ------------------------------------------------------------------ donation, rights
class SlicesManifest(Answer):
    """The donated slices' manifest (`data`, with a link per slice)."""


# ------------------------------------------------------------------ the population view
class PopulationChoice(Answer):
    share: bool
    sharedTime: str | None = Field(default=None, description="since when; absent when not")


class PopulationChoiceEnvelope(Answer):
    data: PopulationChoice


class _Closed(BaseModel):
    # The view holds nothing but these fields: the document says so, and the contract run
    # checks every answer against it.
    model_config = ConfigDict(extra="forbid", defer_build=True)


class PopulationPoint(_Closed):
    time: str = Field(description="UTC, to the minute")
    glucose: int = Field(description="mg/dL")


class PopulationSeries(_Closed):
    hash: str = Field(pattern="^[0-9a-f]{6}$", description="a colour, new every UTC day")
    points: list[PopulationPoint]


class PopulationView(_Closed):
    data: list[PopulationSeries] = Field(description="empty below k people with data")


class ExportLink(Answer):
    data: dict[str, Any]


class GatewayMessage(Answer):
    """API Gateway's own answer, when the authorizer refused a token before any function ran."""

    message: str


# ------------------------------------------------------------------ reports
class AgpBin(BaseModel):
    minute: int = Field(description="the first minute of the day the bin holds")
    count: int
    p5: float | None
    p25: float | None
    p50: float | None
    p75: float | None
    p95: float | None


class AgpDay(BaseModel):
    date: str = Field(description="a local calendar day")
    points: list[tuple[int, float]] = Field(description="[minute of day, mmol/L], in time order")


class AgpTarget(BaseModel):
    low: float
    high: float


class Agp(BaseModel):
    days: int
    start: str
    end: str
    units: Literal["mmol/L"]
    binMinutes: int
    target: AgpTarget
    readings: int
    daysWithData: int
    bins: list[AgpBin]
    daily: list[AgpDay]


class AgpEnvelope(BaseModel):
    data: Agp


class ComparedSource(BaseModel):
    deviceId: str = Field(description="the source: a device id of the person's cbg readings")
    readings: int = Field(description="its readings in the period")
    points: list[tuple[str, float]] = Field(
        description="its readings for an overlay: [time, mg/dL to 0.1], in time order"
    )


class SourcePair(BaseModel):
    first: str = Field(description="the device id earlier in order")
    second: str = Field(description="the other device id")
    pairs: int = Field(description="readings paired one to one within the window")
    mardFirstToSecond: float = Field(
        description="mean |first - second| / second: the second source is the reference"
    )
    mardSecondToFirst: float = Field(description="mean |second - first| / first")
    bias: float = Field(description="mean first - second, mg/dL")
    within15FirstToSecond: float = Field(
        ge=0, le=1, description="share of pairs within 15 mg/dL of second (< 100), else 15 %"
    )
    within15SecondToFirst: float = Field(ge=0, le=1, description="the same, first the reference")
    overlapStart: str = Field(description="the earliest paired reading")
    overlapEnd: str = Field(description="the latest paired reading")


class SourcesComparison(BaseModel):
    days: int
    start: str
    end: str
    units: Literal["mg/dL"]
    windowSeconds: int = Field(description="readings pair when at most this far apart")
    sources: list[ComparedSource] = Field(description="in device id order")
    pairs: list[SourcePair] = Field(description="every two sources with a pair of readings")


class SourcesComparisonEnvelope(BaseModel):
    data: SourcesComparison
