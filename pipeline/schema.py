"""The canonical tables every stage after ingest sees (the data contract of domain.md).

A source config maps a bank's export onto these names; code never sees a bank's own
column names. Types are logical: `string` ids (banks use leading zeros and letters),
`date` (calendar day), `timestamp`, `float64` money in the bank's currency, `bool`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str  # string | date | timestamp | float64 | int64 | bool
    required: bool = True
    allowed: tuple[str, ...] | None = None  # accepted values, where the set is closed
    derived: bool = False  # computed at ingest from the source config, not read from exports
    names_files: bool = False  # its values become file names (ingest.safe_id_pattern)
    free_text: bool = False  # words a person typed: may hold line breaks (else an id or a code)


@dataclass(frozen=True)
class Table:
    name: str
    grain: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    sort_by: tuple[str, ...]
    foreign_keys: dict[str, str] = field(default_factory=dict)  # column -> "table.column"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        """Columns an export must provide (derived ones are computed at ingest)."""
        return [c.name for c in self.columns if c.required and not c.derived]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


CHANNELS = ("counter", "atm", "mobile", "online", "pos", "other")
DIGITAL_CHANNELS = ("mobile", "online")
DIRECTIONS = ("credit", "debit")
CUSTOMER_STATUSES = ("active", "closed")
GENDERS = ("F", "M")
# Products whose balances are customer assets (sum to AUM) and those that are liabilities.
ASSET_PRODUCTS = (
    "current_deposit",
    "time_deposit",
    "wealth_management",
    "fund",
    "insurance",
    "bond",
)
LIABILITY_PRODUCTS = ("loan", "credit_card")
PRODUCTS = ASSET_PRODUCTS + LIABILITY_PRODUCTS
# Columns that identify a person: dropped at ingest or kept only masked, never in outputs.
PII_COLUMNS = ("name", "national_id", "phone", "address", "email")

CUSTOMERS = Table(
    name="customers",
    grain="one row per customer",
    key=("customer_id",),
    columns=(
        Column("customer_id", "string"),
        Column("branch_id", "string", names_files=True),
        Column("open_date", "date"),
        Column("birth_date", "date", required=False),
        Column("gender", "string", required=False, allowed=GENDERS),
        Column("rm_id", "string", required=False, names_files=True),  # calls-<branch>-<rm>.csv
        Column("status", "string", required=False, allowed=CUSTOMER_STATUSES),
        Column("close_date", "date", required=False),
        Column("digital_enrolled", "bool", required=False),
    ),
    sort_by=("customer_id",),
)

TRANSACTIONS = Table(
    name="transactions",
    grain="one row per transaction",
    key=("txn_id",),
    columns=(
        Column("txn_id", "string"),
        Column("customer_id", "string"),
        Column("txn_time", "timestamp"),
        Column("amount", "float64"),
        Column("direction", "string", allowed=DIRECTIONS),
        Column("channel", "string", allowed=CHANNELS),
        Column("txn_type", "string"),
        Column("revenue", "float64", required=False),
        # True when the txn_type is one the source config lists as customer-initiated:
        # engagement counts only these (interest credits and fees are the bank's doing).
        Column("customer_initiated", "bool", derived=True),
    ),
    sort_by=("customer_id", "txn_time", "txn_id"),
    foreign_keys={"customer_id": "customers.customer_id"},
)

BALANCES = Table(
    name="balances",
    grain="one row per customer, month end and product",
    key=("customer_id", "month_end", "product"),
    columns=(
        Column("customer_id", "string"),
        Column("month_end", "date"),
        Column("product", "string", allowed=PRODUCTS),
        Column("balance", "float64"),
    ),
    # Month first: the features mart, tiers and churn labels read one or a few month ends,
    # and Parquet row-group statistics then skip the rest (a snapshot read ~10x faster).
    sort_by=("month_end", "customer_id", "product"),
    foreign_keys={"customer_id": "customers.customer_id"},
)

RM_CONTACTS = Table(
    name="rm_contacts",
    grain="one row per relationship-manager contact",
    key=("customer_id", "rm_id", "contact_date", "channel"),
    columns=(
        Column("customer_id", "string"),
        Column("rm_id", "string"),
        Column("contact_date", "date"),
        Column("channel", "string", required=False),
        Column("outcome", "string", required=False, free_text=True),
    ),
    sort_by=("customer_id", "contact_date", "rm_id"),
    foreign_keys={"customer_id": "customers.customer_id"},
)

# Survey tables are wide: these fixed columns, then one numeric column per item of the
# survey definition (configs/surveys/*.yml), whose scale ingest validates.
SURVEY_RESPONSES = Table(
    name="survey_responses",
    grain="one row per customer questionnaire response",
    key=("response_id",),
    columns=(
        Column("response_id", "string"),
        Column("branch_id", "string", names_files=True),
        Column("response_date", "date"),
        Column("customer_id", "string", required=False),  # null: anonymous response
    ),
    sort_by=("response_id",),
)

STAFF_SURVEY_RESPONSES = Table(
    name="staff_survey_responses",
    grain="one row per staff questionnaire response",
    key=("response_id",),
    columns=(
        Column("response_id", "string"),
        Column("branch_id", "string", names_files=True),
        Column("response_date", "date"),
        Column("role", "string", required=False),
    ),
    sort_by=("response_id",),
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        CUSTOMERS,
        TRANSACTIONS,
        BALANCES,
        RM_CONTACTS,
        SURVEY_RESPONSES,
        STAFF_SURVEY_RESPONSES,
    )
}
REQUIRED_TABLES = ("customers", "transactions", "balances")
