"""Run Splink 5 on DuckDB on a prepared dataset, configured as its documentation shows.

FEBRL 3, FEBRL 4, fake_1000 and historical_50k use the comparisons,
blocking rules, deterministic rules and EM blocking rules of Splink's own
examples for those datasets. The examples are ``febrl3``, ``febrl4`` and
``deduplicate_50k_synthetic`` under ``docs/demos/examples/duckdb/`` in the
Splink repository, and the README quick start for fake_1000. Every dataset
uses ``estimate_u_using_random_sampling(max_pairs=1e7)`` and cuts clusters at
a match probability of 0.95. RLdata and the generated data have no
Splink example, so they get a configuration in the same style over the
columns they have.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

from bench.datasets import DATASETS, GENERATED, source_path
from bench.timing import ToolRun

CLUSTER_THRESHOLD = 0.95
# Pairs below this probability are not kept from prediction. Clustering only
# uses pairs at or above CLUSTER_THRESHOLD, so the clusters are the same as
# with an unfiltered prediction.
PREDICT_THRESHOLD = 0.5
U_MAX_PAIRS = 1e7


@dataclass
class SplinkPlan:
    """One dataset's Splink model: settings and the training steps."""

    settings: dict[str, Any]
    deterministic: list[Any]
    recall: float
    em_rules: list[Any]
    em_without_tf: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _febrl3() -> SplinkPlan:
    blocking = [
        block_on("soc_sec_id"),
        block_on("given_name"),
        block_on("surname"),
        block_on("date_of_birth"),
        block_on("postcode"),
    ]
    comparisons = [
        cl.NameComparison("given_name"),
        cl.NameComparison("surname"),
        cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d"),
        cl.DamerauLevenshteinAtThresholds("soc_sec_id", [2]),
        cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
        cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
    ]
    deterministic = [
        block_on("soc_sec_id"),
        block_on("given_name", "surname", "date_of_birth"),
        "l.given_name = r.surname and l.surname = r.given_name "
        "and l.date_of_birth = r.date_of_birth",
    ]
    return SplinkPlan(
        settings={"link_type": "dedupe_only", "blocking": blocking, "comparisons": comparisons},
        deterministic=deterministic,
        recall=0.9,
        em_rules=[block_on("date_of_birth"), block_on("postcode")],
    )


def _febrl4() -> SplinkPlan:
    blocking = [
        block_on("given_name", "surname"),
        "l.given_name = r.surname and l.surname = r.given_name",
        block_on("date_of_birth"),
        block_on("soc_sec_id"),
        block_on("state", "address_1"),
        block_on("street_number", "address_1"),
        block_on("postcode"),
    ]
    comparisons = [
        cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
        cl.NameComparison("surname").configure(term_frequency_adjustments=True),
        cl.DateOfBirthComparison(
            "date_of_birth",
            input_is_string=True,
            datetime_format="%Y%m%d",
            invalid_dates_as_null=True,
        ),
        cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
        cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
        cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(
            term_frequency_adjustments=True
        ),
    ]
    return SplinkPlan(
        settings={"link_type": "link_only", "blocking": blocking, "comparisons": comparisons},
        deterministic=[
            block_on("soc_sec_id"),
            block_on("given_name", "surname", "date_of_birth"),
        ],
        recall=0.8,
        em_rules=[block_on("date_of_birth"), block_on("postcode")],
        em_without_tf=True,
    )


def _fake_1000() -> SplinkPlan:
    comparisons = [
        cl.NameComparison("first_name"),
        cl.JaroAtThresholds("surname"),
        cl.DateOfBirthComparison("dob", input_is_string=True),
        cl.ExactMatch("city").configure(term_frequency_adjustments=True),
        cl.EmailComparison("email"),
    ]
    return SplinkPlan(
        settings={
            "link_type": "dedupe_only",
            "blocking": [block_on("first_name", "dob"), block_on("surname")],
            "comparisons": comparisons,
        },
        deterministic=[block_on("first_name", "surname")],
        recall=0.7,
        em_rules=[block_on("first_name", "surname"), block_on("email")],
    )


def _historical() -> SplinkPlan:
    blocking = [
        block_on("substr(first_name,1,3)", "substr(surname,1,4)"),
        block_on("surname", "dob"),
        block_on("first_name", "dob"),
        block_on("postcode_fake", "first_name"),
        block_on("postcode_fake", "surname"),
        block_on("dob", "birth_place"),
        block_on("substr(postcode_fake,1,3)", "dob"),
        block_on("substr(postcode_fake,1,3)", "first_name"),
        block_on("substr(postcode_fake,1,3)", "surname"),
        block_on("substr(first_name,1,2)", "substr(surname,1,2)", "substr(dob,1,4)"),
    ]
    comparisons = [
        cl.ForenameSurnameComparison(
            "first_name",
            "surname",
            forename_surname_concat_col_name="first_name_surname_concat",
        ),
        cl.DateOfBirthComparison("dob", input_is_string=True),
        cl.PostcodeComparison("postcode_fake"),
        cl.ExactMatch("birth_place").configure(term_frequency_adjustments=True),
        cl.ExactMatch("occupation").configure(term_frequency_adjustments=True),
    ]
    return SplinkPlan(
        settings={"link_type": "dedupe_only", "blocking": blocking, "comparisons": comparisons},
        deterministic=[
            block_on("first_name", "surname", "dob"),
            block_on("substr(first_name,1,2)", "surname", "substr(postcode_fake,1,2)"),
            block_on("dob", "postcode_fake"),
        ],
        recall=0.6,
        em_rules=[block_on("first_name", "surname"), block_on("dob")],
        em_without_tf=True,
    )


def _rldata() -> SplinkPlan:
    comparisons = [
        cl.NameComparison("fname_c1").configure(term_frequency_adjustments=True),
        cl.NameComparison("lname_c1").configure(term_frequency_adjustments=True),
        cl.DateOfBirthComparison("dob", input_is_string=True),
    ]
    blocking = [
        block_on("fname_c1", "lname_c1"),
        block_on("dob"),
        block_on("lname_c1", "birth_year"),
        block_on("fname_c1", "birth_year"),
    ]
    return SplinkPlan(
        settings={"link_type": "dedupe_only", "blocking": blocking, "comparisons": comparisons},
        # Every RLdata duplicate has an error, so no pair agrees on all three of
        # first name, last name and birth date.
        deterministic=[
            block_on("fname_c1", "lname_c1"),
            block_on("fname_c1", "dob"),
            block_on("lname_c1", "dob"),
        ],
        recall=0.8,
        em_rules=[block_on("dob"), block_on("fname_c1", "lname_c1")],
    )


def _generated() -> SplinkPlan:
    comparisons = [
        cl.NameComparison("first_name").configure(term_frequency_adjustments=True),
        cl.NameComparison("last_name").configure(term_frequency_adjustments=True),
        cl.EmailComparison("email"),
        cl.ExactMatch("phone"),
        cl.DateOfBirthComparison("dob", input_is_string=True),
        cl.LevenshteinAtThresholds("street", [2]),
        cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
        cl.ExactMatch("billing_id"),
    ]
    blocking = [
        block_on("email"),
        block_on("phone"),
        block_on("billing_id"),
        block_on("first_name", "last_name"),
        block_on("last_name", "dob"),
        block_on("last_name", "postcode"),
    ]
    return SplinkPlan(
        settings={"link_type": "dedupe_only", "blocking": blocking, "comparisons": comparisons},
        deterministic=[
            block_on("email"),
            block_on("billing_id"),
            block_on("first_name", "last_name", "dob"),
        ],
        recall=0.7,
        em_rules=[block_on("first_name", "last_name"), block_on("email")],
    )


PLANS = {
    "febrl3": _febrl3,
    "febrl4": _febrl4,
    "fake_1000": _fake_1000,
    "historical_50k": _historical,
    "rldata500": _rldata,
    "rldata10000": _rldata,
    GENERATED: _generated,
}

# Per public dataset: SQL over the prepared source table ``src`` that gives the
# columns the Splink model reads, with ``unique_id`` the benchmark record ID.
PUBLIC_SELECT = {
    "febrl3": "SELECT '{source}:' || rec_id AS unique_id, * EXCLUDE (rec_id) FROM src",
    "fake_1000": "SELECT '{source}:' || unique_id AS unique_id, * EXCLUDE (unique_id, cluster) "
    "FROM src",
    "historical_50k": "SELECT '{source}:' || unique_id AS unique_id, "
    "* EXCLUDE (unique_id, cluster), first_name || ' ' || surname AS first_name_surname_concat "
    "FROM src",
    "rldata500": "SELECT '{source}:' || rec_id AS unique_id, lower(fname_c1) AS fname_c1, "
    "lower(lname_c1) AS lname_c1, "
    "\"by\" AS birth_year, \"by\" || '-' || lpad(bm, 2, '0') || '-' || lpad(bd, 2, '0') AS dob "
    "FROM src",
}
PUBLIC_SELECT["febrl4"] = PUBLIC_SELECT["febrl3"]
PUBLIC_SELECT["rldata10000"] = PUBLIC_SELECT["rldata500"]

# The generated sources mapped to one set of columns, as a Splink user would do
# it in SQL: lower case, trimmed, phone numbers as national digits, dates ISO.
PHONE = "nullif(regexp_replace(regexp_replace({col}, '[^0-9]', '', 'g'), '^61', '0'), '')"
GENERATED_SELECT = """
WITH crm AS (
  SELECT 'crm:' || contact_id AS unique_id, first_name, last_name, email,
         {crm_phone} AS phone, street, city, postcode, birth_date AS dob,
         billing_customer_id AS billing_id
  FROM read_csv('{folder}/crm.csv', all_varchar = true)
), billing AS (
  SELECT 'billing:' || customer_id AS unique_id,
         CASE WHEN name LIKE '%,%' THEN trim(split_part(name, ',', 2))
              ELSE split_part(trim(name), ' ', 1) END AS first_name,
         CASE WHEN name LIKE '%,%' THEN trim(split_part(name, ',', 1))
              WHEN trim(name) LIKE '% %' THEN regexp_extract(trim(name), '(\\S+)$', 1)
         END AS last_name,
         email, {billing_phone} AS phone, address_line1 AS street, city,
         postal_code AS postcode,
         strftime(try_strptime(date_of_birth, '%d/%m/%Y'), '%Y-%m-%d') AS dob,
         customer_id AS billing_id
  FROM read_csv('{folder}/billing.csv', all_varchar = true)
), support AS (
  SELECT 'support:' || CAST(requester.id AS VARCHAR) AS unique_id,
         split_part(trim(requester.name), ' ', 1) AS first_name,
         CASE WHEN trim(requester.name) LIKE '% %'
              THEN regexp_extract(trim(requester.name), '(\\S+)$', 1) END AS last_name,
         requester.email AS email, {support_phone} AS phone, NULL AS street, NULL AS city,
         NULL AS postcode, NULL AS dob, NULL AS billing_id
  FROM read_json('{folder}/support.jsonl', format = 'newline_delimited')
), analytics AS (
  SELECT 'analytics:' || user_id AS unique_id,
         split_part(trim(name), ' ', 1) AS first_name,
         CASE WHEN trim(name) LIKE '% %' THEN regexp_extract(trim(name), '(\\S+)$', 1) END
           AS last_name,
         email, NULL AS phone, NULL AS street, NULL AS city, NULL AS postcode, NULL AS dob,
         NULL AS billing_id
  FROM read_parquet('{folder}/analytics.parquet')
), unioned AS (
  SELECT * FROM crm UNION ALL BY NAME SELECT * FROM billing
  UNION ALL BY NAME SELECT * FROM support UNION ALL BY NAME SELECT * FROM analytics
)
SELECT unique_id,
       nullif(lower(trim(first_name)), '') AS first_name,
       nullif(lower(trim(last_name)), '') AS last_name,
       nullif(lower(trim(email)), '') AS email,
       CAST(phone AS VARCHAR) AS phone,
       nullif(lower(trim(street)), '') AS street,
       nullif(lower(trim(city)), '') AS city,
       CAST(postcode AS VARCHAR) AS postcode,
       CAST(dob AS VARCHAR) AS dob,
       CAST(billing_id AS VARCHAR) AS billing_id
FROM unioned
"""


def generated_sql(folder: Path) -> str:
    """Return the SQL that maps the four generated sources to the common columns."""
    return GENERATED_SELECT.format(
        folder=folder,
        crm_phone=PHONE.format(col="phone"),
        billing_phone=PHONE.format(col="phone"),
        support_phone=PHONE.format(col="requester.phone"),
    )


def load_inputs(
    dataset: str, folder: Path, connection: duckdb.DuckDBPyConnection
) -> list[tuple[str, duckdb.DuckDBPyRelation]]:
    """Return (source name, relation) per input table, mapped to the model's columns."""
    if dataset == GENERATED:
        connection.execute(f"CREATE TABLE input_generated AS {generated_sql(folder)}")
        return [(GENERATED, connection.table("input_generated"))]
    inputs = []
    for source in DATASETS[dataset].sources:
        connection.execute(
            f"CREATE OR REPLACE VIEW src AS SELECT * FROM "
            f"read_parquet('{source_path(folder, source.name)}')"
        )
        select = PUBLIC_SELECT[dataset].format(source=source.name)
        connection.execute(f"CREATE TABLE input_{source.name} AS {select}")
        inputs.append((source.name, connection.table(f"input_{source.name}")))
    return inputs


def _train(linker: Linker, plan: SplinkPlan) -> None:
    linker.training.estimate_probability_two_random_records_match(
        plan.deterministic, recall=plan.recall
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=U_MAX_PAIRS, seed=1)
    for rule in plan.em_rules:
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=plan.em_without_tf
        )


def run_splink(dataset: str, folder: Path, workdir: Path) -> ToolRun:
    """Train, predict and cluster with Splink on DuckDB and return the clusters."""
    logging.getLogger("splink").setLevel(logging.WARNING)
    result = ToolRun()
    plan = PLANS[dataset]()
    connection = duckdb.connect()
    with result.phase("prepare"):
        inputs = load_inputs(dataset, folder, connection)
        db_api = DuckDBAPI(connection=connection)
        tables = [db_api.register(relation, dataset_display_name=name) for name, relation in inputs]
        settings = SettingsCreator(
            link_type=plan.settings["link_type"],
            blocking_rules_to_generate_predictions=plan.settings["blocking"],
            comparisons=plan.settings["comparisons"],
        )
        linker = Linker(tables if len(tables) > 1 else tables[0], settings, log_level=None)
    with result.phase("training"):
        _train(linker, plan)
    with result.phase("prediction"):
        predictions = linker.inference.predict(threshold_match_probability=PREDICT_THRESHOLD)
    with result.phase("clustering"):
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
            predictions, threshold_match_probability=CLUSTER_THRESHOLD
        )
        rows = clusters.as_duckdbpyrelation().select("unique_id, cluster_id").fetchall()
    result.predicted = {unique_id: cluster_id for unique_id, cluster_id in rows}
    connection.close()
    return result
