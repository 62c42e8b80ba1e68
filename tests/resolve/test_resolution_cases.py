"""Identity resolution on hard cases, through the real pipeline and store."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from accord.config.loader import LoadedProject, load_project
from accord.governance.decisions import decide
from accord.governance.lookup import resolve_entity_id
from accord.pipeline import RunSummary, now_utc, run
from accord.resolve.inputs import INPUT_TABLE, build_input
from accord.store.duckdb_store import Store

COLUMNS = ["id", "first", "last", "email", "phone", "street", "city", "zip", "dob"]

PROJECT = """\
name: cases
standardize:
  default_region: US
sources:
  - name: crm
    kind: csv
    path: crm.csv
    primary_key: id
    fields: &fields
      first_name: first
      last_name: last
      email: email
      phone: phone
      street: street
      city: city
      postal_code: zip
      birth_date: dob
      country: {constant: US}
  - name: billing
    kind: csv
    path: billing.csv
    primary_key: id
    fields: *fields
matching:
  max_group_size: 3
"""


def write_sources(folder: Path, crm: list[list[str]], billing: list[list[str]]) -> LoadedProject:
    for name, rows in (("crm", crm), ("billing", billing)):
        with (folder / f"{name}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            writer.writerows(rows)
    (folder / "accord.yaml").write_text(PROJECT, encoding="utf-8")
    return load_project(folder / "accord.yaml")


def resolve(loaded: LoadedProject) -> tuple[dict[str, str], RunSummary]:
    with Store.open(loaded.resolve("accord.duckdb")) as store:
        summary = run(loaded, store)
        rows = store.connection.execute(
            """SELECT record_id, entity_id FROM entity_members JOIN entities USING (entity_id)
               WHERE entity_type = 'person'"""
        ).fetchall()
    return dict(rows), summary


def same(entities: dict[str, str], a: str, b: str) -> bool:
    return entities[a] == entities[b]


# Background customers so that the pairs under test are not the only records.
BACKGROUND = [
    [
        f"bg{i}",
        first,
        last,
        f"{first.lower()}.{last.lower()}{i}@mail{i % 7}.net",
        f"(212) 555-{1000 + i:04d}",
        f"{10 + i} Main Street",
        "Springfield",
        f"{10000 + i}",
        f"19{50 + i % 40}-0{1 + i % 9}-1{i % 9}",
    ]
    for i, (first, last) in enumerate(
        [
            ("Alice", "Walker"),
            ("Brian", "Young"),
            ("Carla", "Diaz"),
            ("Derek", "Hughes"),
            ("Elena", "Rossi"),
            ("Farid", "Haddad"),
            ("Grace", "Kim"),
            ("Hugo", "Lind"),
            ("Irene", "Costa"),
            ("Jonas", "Berg"),
        ]
    )
]

CASES: list[tuple[str, list[list[str]], list[list[str]], list[tuple[str, str, bool]]]] = [
    (
        "household sharing address and phone",
        [
            [
                "c1",
                "John",
                "Smith",
                "john.smith@mail.net",
                "(415) 555-0100",
                "12 Oak Street",
                "Berkeley",
                "94704",
                "1970-03-02",
            ]
        ],
        [
            [
                "b1",
                "Mary",
                "Smith",
                "mary.smith@mail.net",
                "415-555-0100",
                "12 Oak St",
                "Berkeley",
                "94704",
                "1972-11-23",
            ]
        ],
        [("crm:c1", "billing:b1", False)],
    ),
    (
        "twins sharing birth date and address",
        [
            [
                "c1",
                "Peter",
                "Novak",
                "pnovak@mail.net",
                "(415) 555-0110",
                "3 Elm Street",
                "Oakland",
                "94601",
                "1990-06-15",
            ]
        ],
        [
            [
                "b1",
                "Paul",
                "Novak",
                "paul.novak@mail.net",
                "(415) 555-0110",
                "3 Elm St",
                "Oakland",
                "94601",
                "1990-06-15",
            ]
        ],
        [("crm:c1", "billing:b1", False)],
    ),
    (
        "two people with the same common name",
        [
            [
                "c1",
                "James",
                "Smith",
                "jsmith1@mail.net",
                "(312) 555-0101",
                "1 Lake Shore Dr",
                "Chicago",
                "60601",
                "1961-01-01",
            ]
        ],
        [
            [
                "b1",
                "James",
                "Smith",
                "james.smith77@mail.org",
                "(206) 555-0177",
                "9 Pine St",
                "Seattle",
                "98101",
                "1988-09-30",
            ]
        ],
        [("crm:c1", "billing:b1", False)],
    ),
    (
        "work and personal email",
        [
            [
                "c1",
                "Jane",
                "Doe",
                "jane@acme-widgets.com",
                "(617) 555-0142",
                "5 Beacon Street",
                "Boston",
                "02108",
                "1984-04-04",
            ]
        ],
        [
            [
                "b1",
                "Jane",
                "Doe",
                "jane.doe84@gmail.com",
                "617.555.0142",
                "5 Beacon St",
                "Boston",
                "02108",
                "1984-04-04",
            ]
        ],
        [("crm:c1", "billing:b1", True)],
    ),
    (
        "nickname",
        [
            [
                "c1",
                "Robert",
                "Jones",
                "rjones@acme-widgets.com",
                "(503) 555-0199",
                "8 Alder Street",
                "Portland",
                "97205",
                "1979-12-01",
            ]
        ],
        [
            [
                "b1",
                "Bob",
                "Jones",
                "bob.jones@gmail.com",
                "503 555 0199",
                "8 Alder St",
                "Portland",
                "97205",
                "1979-12-01",
            ]
        ],
        [("crm:c1", "billing:b1", True)],
    ),
    (
        "typo in the family name",
        [
            [
                "c1",
                "Katherine",
                "Johnson",
                "kjohnson@mail.net",
                "(702) 555-0123",
                "77 Desert Road",
                "Las Vegas",
                "89101",
                "1966-07-19",
            ]
        ],
        [
            [
                "b1",
                "Katherine",
                "Jonhson",
                "kjohnson@mail.net",
                "(702) 555-0123",
                "77 Desert Rd",
                "Las Vegas",
                "89101",
                "1966-07-19",
            ]
        ],
        [("crm:c1", "billing:b1", True)],
    ),
    (
        "shared email spells one of two given names",
        [["c1", "Ruby", "Dixon", "ruby.dixon@mail.net", "", "", "", "", ""]],
        [["b1", "Kyle", "Dixon", "ruby.dixon@mail.net", "(503) 555-0199", "", "", "", ""]],
        [("crm:c1", "billing:b1", True)],
    ),
    (
        "shared email spells neither given name",
        [["c1", "Ruby", "Dixon", "dixonfamily@mail.net", "", "", "", "", ""]],
        [["b1", "Kyle", "Dixon", "dixonfamily@mail.net", "(503) 555-0199", "", "", "", ""]],
        [("crm:c1", "billing:b1", False)],
    ),
    (
        "email of a record without given name spells another",
        [["c1", "Kate", "Smith", "jsmith@mail.net", "(503) 555-0142", "", "", "", ""]],
        [["b1", "", "Smith", "jsmith@mail.net", "", "", "", "", ""]],
        [("crm:c1", "billing:b1", False)],
    ),
    (
        "email of a record without given name spells the same",
        [["c1", "Kate", "Smith", "kate.smith@mail.net", "(503) 555-0142", "", "", "", ""]],
        [["b1", "", "Smith", "kate.smith@mail.net", "", "", "", "", ""]],
        [("crm:c1", "billing:b1", True)],
    ),
    (
        "mailbox of one given name on three records",
        [
            ["k", "Kyle", "Dixon", "ruby.dixon@mail.net", "", "", "", "", ""],
            ["r", "Ruby", "Dixon", "ruby.dixon@mail.net", "", "", "", "", ""],
            ["u", "", "Dixon", "ruby.dixon@mail.net", "", "", "", "", ""],
        ],
        [],
        [("crm:r", "crm:u", True), ("crm:k", "crm:r", False)],
    ),
    (
        "mailbox of one given name on three records, other ID order",
        [
            ["k", "Kyle", "Dixon", "ruby.dixon@mail.net", "", "", "", "", ""],
            ["r", "Ruby", "Dixon", "ruby.dixon@mail.net", "", "", "", "", ""],
            ["a_u", "", "Dixon", "ruby.dixon@mail.net", "", "", "", "", ""],
        ],
        [],
        [("crm:r", "crm:a_u", True), ("crm:k", "crm:r", False)],
    ),
    (
        "role mailbox shared by two people",
        [
            [
                "c1",
                "Olga",
                "Ivanova",
                "info@acme-widgets.com",
                "(801) 555-0150",
                "1 First Ave",
                "Provo",
                "84601",
                "1975-05-05",
            ]
        ],
        [
            [
                "b1",
                "Tom",
                "Baker",
                "info@acme-widgets.com",
                "(801) 555-0177",
                "900 Last Ave",
                "Ogden",
                "84401",
                "1991-02-02",
            ]
        ],
        [("crm:c1", "billing:b1", False)],
    ),
]


@pytest.mark.parametrize(("case", "crm", "billing", "expected"), CASES, ids=[c[0] for c in CASES])
def test_resolution_case(
    tmp_path: Path,
    case: str,
    crm: list[list[str]],
    billing: list[list[str]],
    expected: list[tuple[str, str, bool]],
) -> None:
    entities, _ = resolve(write_sources(tmp_path, crm + BACKGROUND, billing))
    for a, b, together in expected:
        assert same(entities, a, b) is together, case


def test_shared_value_over_limit_not_stitched(tmp_path: Path) -> None:
    rows = [
        [f"c{i}", name, "Lee", "frontdesk@lee-clinic.com", "(808) 555-0100", "", "", "", ""]
        for i, name in enumerate(["Ann", "Ben", "Cal", "Dee"])
    ]
    write_sources(tmp_path, rows + BACKGROUND, [])
    project = tmp_path / "accord.yaml"
    project.write_text(
        project.read_text().replace(
            "max_group_size: 3",
            "max_group_size: 3\n  deterministic:\n"
            "    - {name: phone, fields: [phone_key],"
            " guard: false}",
        )
    )
    entities, _ = resolve(load_project(project))
    assert len({entities[f"crm:c{i}"] for i in range(4)}) == 4


def run_again(loaded: LoadedProject) -> dict[str, str]:
    entities, _ = resolve(loaded)
    return entities


def test_merge_keeps_older_id_and_alias_resolves(tmp_path: Path) -> None:
    crm = [["c1", "Nora", "Quinn", "nora.quinn@mail.net", "", "", "", "", ""], *BACKGROUND]
    billing = [["b1", "Nora", "Quinn", "", "(919) 555-0111", "", "", "", ""]]
    loaded = write_sources(tmp_path, crm, billing)
    first = run_again(loaded)
    assert not same(first, "crm:c1", "billing:b1")
    older, newer = first["crm:c1"], first["billing:b1"]
    with Store.open(tmp_path / "accord.duckdb") as store:
        order = dict(
            store.connection.execute("SELECT entity_id, created_seq FROM entities").fetchall()
        )
        with store.transaction() as connection:
            decide(connection, "crm:c1", "billing:b1", "must_link", now_utc())
    second = run_again(loaded)
    survivor = second["crm:c1"]
    assert same(second, "crm:c1", "billing:b1")
    assert survivor == min((older, newer), key=lambda e: order[e])
    retired = newer if survivor == older else older
    with Store.open(tmp_path / "accord.duckdb", read_only=True) as store:
        assert resolve_entity_id(store.connection, retired) == (survivor, retired)


def test_cannot_link_splits_and_larger_part_keeps_id(tmp_path: Path) -> None:
    crm = [
        [
            "c1",
            "Owen",
            "Park",
            "owen.park@mail.net",
            "(919) 555-0190",
            "4 Birch Street",
            "Durham",
            "27701",
            "1980-01-01",
        ],
        [
            "c2",
            "Owen",
            "Park",
            "owen.park@mail.net",
            "(919) 555-0190",
            "4 Birch St",
            "Durham",
            "27701",
            "1980-01-01",
        ],
        *BACKGROUND,
    ]
    billing = [["b1", "Owen", "Park", "owen.park@mail.net", "", "", "", "", ""]]
    loaded = write_sources(tmp_path, crm, billing)
    first = run_again(loaded)
    assert same(first, "crm:c1", "billing:b1")
    original = first["crm:c1"]
    with Store.open(tmp_path / "accord.duckdb") as store, store.transaction() as connection:
        decide(connection, "crm:c2", "billing:b1", "cannot_link", now_utc())
        decide(connection, "crm:c1", "billing:b1", "cannot_link", now_utc())
    second = run_again(loaded)
    assert same(second, "crm:c1", "crm:c2")
    assert not same(second, "crm:c1", "billing:b1")
    assert second["crm:c1"] == original


@pytest.mark.parametrize("rejected", ["crm:q1", "crm:q2"])
def test_cannot_link_keeps_login_email_record_apart(tmp_path: Path, rejected: str) -> None:
    crm = [
        ["e", "", "", "quillonbrevik@mailbox.org", "", "", "", "", ""],
        ["q1", "Quillon", "Brevik", "qb@work.example", "(415) 555-0100", "", "", "", ""],
        ["q2", "Quillon", "Brevik", "qb@work.example", "(415) 555-0100", "", "", "", ""],
        *BACKGROUND,
    ]
    loaded = write_sources(tmp_path, crm, [])
    first = run_again(loaded)
    assert same(first, "crm:e", "crm:q1")
    with Store.open(tmp_path / "accord.duckdb") as store, store.transaction() as connection:
        decide(connection, "crm:e", rejected, "cannot_link", now_utc())
    second = run_again(loaded)
    assert same(second, "crm:q1", "crm:q2")
    assert not same(second, "crm:e", "crm:q1")


def test_deleted_record_leaves_entity(tmp_path: Path) -> None:
    crm = [["c1", "Rita", "Moss", "rita.moss@mail.net", "", "", "", "", ""], *BACKGROUND]
    billing = [["b1", "Rita", "Moss", "rita.moss@mail.net", "", "", "", "", ""]]
    loaded = write_sources(tmp_path, crm, billing)
    first = run_again(loaded)
    assert same(first, "crm:c1", "billing:b1")
    write_sources(tmp_path, crm, [])
    second = run_again(loaded)
    assert "billing:b1" not in second
    assert second["crm:c1"] == first["crm:c1"]


def test_identical_rerun_changes_nothing(tmp_path: Path) -> None:
    loaded = write_sources(tmp_path, BACKGROUND, [row[:] for row in BACKGROUND[:4]])
    first = run_again(loaded)
    _, summary = resolve(loaded)
    assert summary.extra["entities created"] == 0
    assert summary.extra["entities merged away"] == 0
    assert run_again(loaded) == first


def test_review_pair_listed_between_thresholds(tmp_path: Path) -> None:
    crm = [["c1", "Vera", "Stone", "", "", "22 Cedar Street", "Austin", "78701", ""]]
    billing = [["b1", "Vera", "Stone", "", "(512) 555-0100", "", "Austin", "", ""]]
    write_sources(tmp_path, crm + BACKGROUND, billing)
    text = (tmp_path / "accord.yaml").read_text()
    (tmp_path / "accord.yaml").write_text(
        text.replace("max_group_size: 3", "max_group_size: 3\n  review: 0.01")
    )
    entities, _summary = resolve(load_project(tmp_path / "accord.yaml"))
    assert not same(entities, "crm:c1", "billing:b1")
    with Store.open(tmp_path / "accord.duckdb", read_only=True) as store:
        rows: list[Any] = store.connection.execute(
            "SELECT record_a, record_b, status FROM review_queue"
        ).fetchall()
    assert ("billing:b1", "crm:c1", "open") in rows


ORG_PROJECT = """\
name: orgs
sources:
  - name: crm
    kind: csv
    path: crm.csv
    primary_key: id
    fields:
      first_name: first
      last_name: last
      email: email
      company_name: company
"""


def test_contacts_of_an_organization_are_listed(tmp_path: Path) -> None:
    from accord.governance.lookup import entity_view

    (tmp_path / "crm.csv").write_text(
        "id,first,last,email,company\n"
        "1,Ana,Ruiz,ana@northwind-traders.com,Northwind Traders Inc.\n"
        "2,Ben,Okafor,ben.okafor@northwind-traders.com,Northwind Traders\n"
        '3,Cy,Lam,cy.lam@gmail.com,"The Northwind Traders, LLC"\n'
        "4,Di,Sato,di@contoso-labs.com,Contoso Labs GmbH\n",
        encoding="utf-8",
    )
    (tmp_path / "accord.yaml").write_text(ORG_PROJECT, encoding="utf-8")
    loaded = load_project(tmp_path / "accord.yaml")
    entities, _ = resolve(loaded)
    with Store.open(tmp_path / "accord.duckdb", read_only=True) as store:
        organizations = dict(
            store.connection.execute(
                """SELECT m.record_id, m.entity_id FROM entity_members m
               JOIN entities e USING (entity_id) WHERE e.entity_type = 'organization'"""
            ).fetchall()
        )
        view = entity_view(store.connection, organizations["crm:1"])
    assert organizations["crm:1"] == organizations["crm:2"]
    assert organizations["crm:1"] == organizations["crm:3"]
    assert organizations["crm:4"] != organizations["crm:1"]
    contacts = {person for person, _ in view.related}
    assert contacts == {entities["crm:1"], entities["crm:2"], entities["crm:3"]}


def test_distinct_records_train_without_matches(tmp_path: Path) -> None:
    givens = ["Ann", "Bob", "Cid", "Dan", "Eve", "Fay", "Gus", "Hal", "Ivy", "Jon"]
    rows = [
        [
            f"c{i}",
            givens[i % 10],
            f"Family{i:03d}",
            f"person{i}@mail{i % 9}.net",
            f"(415) 555-{1000 + i:04d}" if i % 3 else "",
            "",
            "",
            "",
            "",
        ]
        for i in range(300)
    ]
    entities, summary = resolve(write_sources(tmp_path, rows, []))
    assert len(set(entities.values())) == 300
    assert summary.extra["linked pairs"] == 0


def test_stale_model_is_trained_again(tmp_path: Path) -> None:
    loaded = write_sources(tmp_path, BACKGROUND, [])
    resolve(loaded)
    with Store.open(tmp_path / "accord.duckdb") as store:
        store.connection.execute(
            "UPDATE match_models SET settings = json_object('comparisons', json_array())"
        )
    _, summary = resolve(loaded)
    with Store.open(tmp_path / "accord.duckdb", read_only=True) as store:
        count = store.connection.execute("SELECT count(*) FROM match_models").fetchall()
    assert summary.extra["records resolved"] == len(BACKGROUND)
    assert count == [(2,)]


def test_namesakes_do_not_absorb_a_thin_record(tmp_path: Path) -> None:
    crm = [
        [
            "c1",
            "Evelyn",
            "Miller",
            "evelyn.miller@mail.net",
            "(305) 555-0111",
            "1 Bay Street",
            "Miami",
            "33101",
            "",
        ],
        [
            "c2",
            "Evelyn",
            "Miller",
            "emiller77@mail.org",
            "(206) 555-0177",
            "9 Pine Street",
            "Seattle",
            "98101",
            "",
        ],
        *BACKGROUND,
    ]
    billing = [["b1", "Evelyn", "Miller", "evelyn@miller-design.com", "", "", "", "", ""]]
    entities, _ = resolve(write_sources(tmp_path, crm, billing))
    assert not same(entities, "crm:c1", "crm:c2")
    assert not same(entities, "billing:b1", "crm:c1")
    assert not same(entities, "billing:b1", "crm:c2")


# (typed birth date, birth date the match model compares, golden birth date)
BIRTH_DATE_KEYS = [
    ("1949-07-13", "1949-07-13", "1949-07-13"),
    ("1949-0-13", "1949-00-13", None),
    ("2001-12-64", "2001-12-64", None),
    ("1028-03-12", "1028-03-12", None),
    ("13/13/1949", None, None),
]


@pytest.mark.parametrize(("typed", "compared", "kept"), BIRTH_DATE_KEYS)
def test_rejected_birth_date_compared_not_kept(
    tmp_path: Path, typed: str, compared: str | None, kept: str | None
) -> None:
    crm = [["c1", "Heinz", "Mayer", "", "", "", "", "", typed]]
    loaded = write_sources(tmp_path, crm + BACKGROUND, [])
    resolve(loaded)
    with Store.open(loaded.resolve("accord.duckdb")) as store:
        build_input(store.connection, ["crm"], [])
        row = store.connection.execute(
            f"SELECT birth_date FROM {INPUT_TABLE} WHERE record_id = 'crm:c1'"
        ).fetchone()
        golden = store.connection.execute(
            """SELECT g.value ->> '$' FROM golden_values g JOIN entity_members m USING (entity_id)
               WHERE m.record_id = 'crm:c1' AND g.field = 'birth_date'"""
        ).fetchall()
    assert row is not None
    assert row[0] == compared
    assert golden == ([(kept,)] if kept else [])
