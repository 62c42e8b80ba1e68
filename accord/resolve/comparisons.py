"""Accord's comparison vocabulary, compiled to Splink comparisons.

Each comparison level has one condition written twice: as Splink SQL over
``<column>_l`` and ``<column>_r``, and as a Python predicate over two record
dicts. Splink uses the SQL for batch prediction; explanations and real-time
resolution use the Python form with the trained parameters. A test checks
that both forms pick the same level on real data.

Levels are listed strongest first, and the first level whose condition is
true is the pair's level, as in Splink. The ``null`` level comes first and the
``else`` level last.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from rapidfuzz.distance import OSA, JaroWinkler, Levenshtein

Record = dict[str, Any]
Predicate = Callable[[Record, Record], bool]


@dataclass(frozen=True)
class Level:
    """One comparison level: its condition and untrained m and u probabilities."""

    label: str
    sql: str
    test: Predicate
    m: float
    u: float
    null: bool = False
    tf_column: str | None = None
    fixed: bool = False  # keep m and u as given: training would overrate this level
    # Key columns that are equal in every pair at this level, which lets the
    # prior estimate tell how often a match agrees on a blocking key.
    agrees: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Comparison:
    """A named comparison over some input columns, with ordered levels."""

    name: str
    columns: tuple[str, ...]
    levels: tuple[Level, ...]

    def level_of(self, left: Record, right: Record) -> int:
        """Return the index of the first level whose condition holds."""
        for index, level in enumerate(self.levels):
            if level.test(left, right):
                return index
        return len(self.levels) - 1

    def gamma(self, index: int) -> int:
        """Return Splink's gamma value for a level index: -1 null, 0 else, higher is closer."""
        level = self.levels[index]
        if level.null:
            return -1
        return len(self.levels) - 1 - index

    def gamma_sql(self) -> str:
        """Return a SQL CASE expression giving Splink's gamma value for a pair."""
        parts = [
            f"WHEN {level.sql} THEN {self.gamma(index)}"
            for index, level in enumerate(self.levels)
            if level.sql != "ELSE"
        ]
        return f"CASE {' '.join(parts)} ELSE 0 END"

    def presence_sql(self) -> str:
        """Return SQL over one record that is true when the record has data to compare.

        Two records that both have data never fall into the null level. The
        condition is the null level's, with both sides read from one record.
        """
        null_levels = [level for level in self.levels if level.null]
        if not null_levels:
            return "TRUE"
        one_record = re.sub(r"\b(\w+)_[lr]\b", r"\1", null_levels[0].sql)
        return f"NOT ({one_record})"

    def to_splink(self) -> dict[str, Any]:
        """Return the Splink comparison dictionary with untrained parameters."""
        levels = []
        for level in self.levels:
            entry: dict[str, Any] = {"sql_condition": level.sql, "label_for_charts": level.label}
            if level.null:
                entry["is_null_level"] = True
            else:
                entry["m_probability"] = level.m
                entry["u_probability"] = level.u
            if level.fixed:
                entry["fix_m_probability"] = True
                entry["fix_u_probability"] = True
            if level.tf_column:
                entry["tf_adjustment_column"] = level.tf_column
                entry["tf_adjustment_weight"] = 1.0
            levels.append(entry)
        return {"output_column_name": self.name, "comparison_levels": levels}


def _value(record: Record, column: str) -> Any:
    value = record.get(column)
    return None if value == "" else value


def _either_null(*columns: str) -> Predicate:
    def test(left: Record, right: Record) -> bool:
        return any(_value(left, c) is None or _value(right, c) is None for c in columns)

    return test


def _null_sql(*columns: str) -> str:
    return " OR ".join(f"{c}_l IS NULL OR {c}_r IS NULL" for c in columns)


def _equal(column: str) -> Predicate:
    return lambda left, right: (
        left.get(column) is not None and left.get(column) == right.get(column)
    )


def _jaro_winkler_at(column: str, threshold: float) -> Predicate:
    def test(left: Record, right: Record) -> bool:
        a, b = left.get(column), right.get(column)
        if a is None or b is None:
            return False
        return bool(JaroWinkler.similarity(str(a), str(b)) >= threshold)

    return test


def _levenshtein_within(column: str, distance: int) -> Predicate:
    def test(left: Record, right: Record) -> bool:
        a, b = left.get(column), right.get(column)
        if a is None or b is None:
            return False
        return bool(Levenshtein.distance(str(a), str(b)) <= distance)

    return test


def _else(left: Record, right: Record) -> bool:
    return True


ELSE_SQL = "ELSE"


def _exact(column: str, m: float, u: float, tf: bool = False) -> Level:
    return Level(
        "exact",
        f"{column}_l = {column}_r",
        _equal(column),
        m,
        u,
        tf_column=column if tf else None,
        agrees=frozenset({column}),
    )


def _jw(column: str, threshold: float, m: float, u: float) -> Level:
    sql = f"jaro_winkler_similarity({column}_l, {column}_r) >= {threshold}"
    return Level(f"jaro_winkler >= {threshold}", sql, _jaro_winkler_at(column, threshold), m, u)


def _null(*columns: str) -> Level:
    return Level("null", _null_sql(*columns), _either_null(*columns), 1.0, 1.0, null=True)


def _otherwise(m: float, u: float) -> Level:
    return Level("else", ELSE_SQL, _else, m, u)


def _swapped(left: Record, right: Record) -> bool:
    first_l, last_l = left.get("first_name_key"), left.get("last_name_key")
    return (
        first_l is not None
        and last_l is not None
        and first_l == right.get("last_name_key")
        and last_l == right.get("first_name_key")
    )


_SWAPPED_SQL = "first_name_key_l = last_name_key_r AND last_name_key_l = first_name_key_r"


def _nicknames_overlap(left: Record, right: Record) -> bool:
    """Return whether one given name is a listed nickname or formal form of the other.

    Two nicknames of one formal name (Ann and Dee, both of Deanna) do not
    count: short nicknames belong to too many formal names.
    """
    a, b = left.get("first_name_nick_keys"), right.get("first_name_nick_keys")
    first_a, first_b = left.get("first_name_key"), right.get("first_name_key")
    return bool((a and first_b in a) or (b and first_a in b))


def _fuzzy_swapped(left: Record, right: Record) -> bool:
    pairs = (
        (left.get("first_name_key"), right.get("last_name_key")),
        (left.get("last_name_key"), right.get("first_name_key")),
    )
    return all(
        a is not None and b is not None and JaroWinkler.similarity(str(a), str(b)) >= 0.9
        for a, b in pairs
    )


_FUZZY_SWAPPED_SQL = (
    "jaro_winkler_similarity(first_name_key_l, last_name_key_r) >= 0.9 "
    "AND jaro_winkler_similarity(last_name_key_l, first_name_key_r) >= 0.9"
)


def _initial(left: Record, right: Record) -> bool:
    a, b = left.get("first_name_key"), right.get("first_name_key")
    if not a or not b:
        return False
    return (len(a) == 1 or len(b) == 1) and a[0] == b[0]


def _contains(column: str) -> Predicate:
    def test(left: Record, right: Record) -> bool:
        a, b = left.get(column), right.get(column)
        if a is None or b is None or min(len(a), len(b)) < 3:
            return False
        return bool(a in b or b in a)

    return test


def first_name() -> Comparison:
    """Given name: exact, nickname, swapped with family name, fuzzy, initial."""
    column = "first_name_key"
    nick_sql = (
        "list_contains(first_name_nick_keys_l, first_name_key_r) "
        "OR list_contains(first_name_nick_keys_r, first_name_key_l)"
    )
    initial_sql = (
        f"(length({column}_l) = 1 OR length({column}_r) = 1) "
        f"AND left({column}_l, 1) = left({column}_r, 1)"
    )
    return Comparison(
        "first_name",
        (column, "first_name_nick_keys", "last_name_key"),
        (
            _null(column),
            _exact(column, 0.80, 0.01, tf=True),
            Level("nickname", nick_sql, _nicknames_overlap, 0.05, 0.002),
            # Swapped names carry no term-frequency adjustment, so their weight
            # is fixed at a level a common name pair cannot exceed on its own.
            Level("swapped with family name", _SWAPPED_SQL, _swapped, 0.01, 0.0005, fixed=True),
            Level(
                "swapped, with typos", _FUZZY_SWAPPED_SQL, _fuzzy_swapped, 0.005, 0.0005, fixed=True
            ),
            _jw(column, 0.92, 0.07, 0.005),
            _jw(column, 0.80, 0.03, 0.02),
            Level("initial", initial_sql, _initial, 0.02, 0.01),
            _otherwise(0.02, 0.95),
        ),
    )


def last_name() -> Comparison:
    """Family name: exact, swapped with given name, double-barrel containment, fuzzy."""
    column = "last_name_key"
    swapped_sql = "last_name_key_l = first_name_key_r AND first_name_key_l = last_name_key_r"
    contains_sql = (
        f"least(length({column}_l), length({column}_r)) >= 3 AND "
        f"(contains({column}_l, {column}_r) OR contains({column}_r, {column}_l))"
    )
    return Comparison(
        "last_name",
        (column, "first_name_key"),
        (
            _null(column),
            _exact(column, 0.85, 0.005, tf=True),
            Level("swapped with given name", swapped_sql, _swapped, 0.01, 0.0005, fixed=True),
            Level("one contains the other", contains_sql, _contains(column), 0.02, 0.002),
            _jw(column, 0.92, 0.07, 0.004),
            _jw(column, 0.80, 0.03, 0.02),
            _otherwise(0.02, 0.97),
        ),
    )


def _role(left: Record, right: Record) -> bool:
    return bool(left.get("email_is_role") or right.get("email_is_role"))


# A local part that is only an initial and a family name (jsmith) is shared by
# relatives and namesakes, so it counts as weaker evidence than janesmith.
_NAME_KEYS = ("name_full_key", "name_reversed_key", "name_initial_key", "last_name_key")
# A local part that spells a name (jsmith, jane.smith) is shared by relatives
# and namesakes and repeats the name comparisons, so only a local part that is
# not either record's name counts as distinctive evidence.
_DISTINCTIVE_SQL = "length(email_local_key_l) >= 5 AND " + " AND ".join(
    f"email_local_key_{side} IS DISTINCT FROM {key}_{other}"
    for side in ("l", "r")
    for other in ("l", "r")
    for key in _NAME_KEYS
)


def _distinctive_local(left: Record, right: Record) -> bool:
    local = left.get("email_local_key")
    if not local or len(local) < 5:
        return False
    return all(
        record.get("email_local_key") != named.get(key)
        for record in (left, right)
        for named in (left, right)
        for key in _NAME_KEYS
    )


def _within_edits_sql(column: str, distance: int) -> str:
    """Return SQL that is true when the Levenshtein distance is at most ``distance``.

    The result equals ``levenshtein(l, r) <= distance`` but skips most of the
    quadratic distance computations. Two exact filters come first: the
    lengths differ by at most ``distance``, and ``l`` split into
    ``distance + 1`` pieces has a piece that occurs unchanged in ``r``
    (each edit touches at most one piece). CASE evaluates a branch only for
    the rows that reach it.
    """
    left, right = f"{column}_l", f"{column}_r"
    size = f"length({left})"
    parts = distance + 1
    bounds = [f"{index} * {size} // {parts}" for index in range(parts)]
    pieces = [f"substr({left}, {start} + 1, {end} - {start})" for start, end in pairwise(bounds)]
    pieces.append(f"substr({left}, {bounds[-1]} + 1)")
    any_piece = " OR ".join(f"contains({right}, {piece})" for piece in pieces)
    return (
        f"CASE WHEN abs({size} - length({right})) > {distance} THEN FALSE "
        f"WHEN NOT ({any_piece}) THEN FALSE "
        f"ELSE levenshtein({left}, {right}) <= {distance} END"
    )


def _same_local_part(left: Record, right: Record) -> bool:
    a, b = left.get("email_key"), right.get("email_key")
    if not a or not b:
        return False
    return str(a).split("@", 1)[0] == str(b).split("@", 1)[0]


def email() -> Comparison:
    """Email comparison key: exact, exact on a role address, same local part, one or two edits."""
    column = "email_key"
    exact_personal = Level(
        "exact",
        f"{column}_l = {column}_r AND NOT coalesce(email_is_role_l, FALSE) "
        "AND NOT coalesce(email_is_role_r, FALSE)",
        lambda left, right: _equal(column)(left, right) and not _role(left, right),
        0.80,
        0.0001,
        agrees=frozenset({column}),
    )
    exact_role = Level(
        "exact, role address",
        f"{column}_l = {column}_r",
        _equal(column),
        0.01,
        0.001,
        agrees=frozenset({column}),
    )
    # email_user_key is the local part of email_key, split once per record.
    local_sql = "email_user_key_l = email_user_key_r"
    fuzzy_sql = _within_edits_sql(column, 2)
    return Comparison(
        "email",
        (column, "email_is_role", "email_user_key", "email_local_key", "name_initial_key"),
        (
            _null(column),
            exact_personal,
            exact_role,
            Level(
                "same distinctive local part",
                # A nested CASE, because DuckDB evaluates both sides of AND on every row.
                f"CASE WHEN {local_sql} THEN {_DISTINCTIVE_SQL} ELSE FALSE END",
                lambda left, right: (
                    _same_local_part(left, right) and _distinctive_local(left, right)
                ),
                0.05,
                0.0005,
            ),
            Level("same local part", local_sql, _same_local_part, 0.01, 0.001, fixed=True),
            Level("levenshtein <= 2", fuzzy_sql, _levenshtein_within(column, 2), 0.04, 0.0005),
            _otherwise(0.10, 0.998),
        ),
    )


def _last_digits(column: str, count: int) -> Predicate:
    def test(left: Record, right: Record) -> bool:
        a, b = left.get(column), right.get(column)
        if not a or not b or len(a) < count or len(b) < count:
            return False
        return bool(a[-count:] == b[-count:])

    return test


def phone() -> Comparison:
    """Phone comparison key (E.164 digits): exact, last seven digits equal."""
    column = "phone_key"
    last7_sql = (
        f"length({column}_l) >= 7 AND length({column}_r) >= 7 "
        f"AND right({column}_l, 7) = right({column}_r, 7)"
    )
    return Comparison(
        "phone",
        (column,),
        (
            _null(column),
            _exact(column, 0.75, 0.0002, tf=True),
            Level("last 7 digits", last7_sql, _last_digits(column, 7), 0.05, 0.0005),
            _otherwise(0.20, 0.999),
        ),
    )


_LOCATION_COLUMNS = ("street_key", "postal_code_key", "city_key")


def _no_location(left: Record, right: Record) -> bool:
    def empty(record: Record) -> bool:
        return all(record.get(column) is None for column in _LOCATION_COLUMNS)

    return empty(left) or empty(right)


def _street_and_postcode(left: Record, right: Record) -> bool:
    same_street = _equal("street_key")(left, right)
    postal_l, postal_r = left.get("postal_code_key"), right.get("postal_code_key")
    return same_street and (postal_l is None or postal_r is None or postal_l == postal_r)


def _fuzzy_street_same_postcode(left: Record, right: Record) -> bool:
    return _jaro_winkler_at("street_key", 0.9)(left, right) and _equal("postal_code_key")(
        left, right
    )


_LONG_POSTCODE = 6


def _long_postcodes(left: Record, right: Record) -> bool:
    codes = (left.get("postal_code_key"), right.get("postal_code_key"))
    return all(code is not None and len(code) >= _LONG_POSTCODE for code in codes)


def _all(*predicates: Predicate) -> Predicate:
    return lambda left, right: all(predicate(left, right) for predicate in predicates)


def address() -> Comparison:
    """Postal address as one comparison, so street, postcode and city count once.

    Records with a postcode or city but no street (a birth place, a billing
    ZIP) are compared too. Postcodes one edit apart cover typos and
    neighbouring codes. Two edits count only on codes of six or more
    characters, where the codes still share an area (the British sector NE18 0
    in NE18 0NG and NE18 0LH), because two of five digits are weak evidence.
    """
    null_sql = " OR ".join(
        "(" + " AND ".join(f"{column}_{side} IS NULL" for column in _LOCATION_COLUMNS) + ")"
        for side in ("l", "r")
    )
    exact_sql = (
        "street_key_l = street_key_r AND (postal_code_key_l IS NULL OR postal_code_key_r IS NULL "
        "OR postal_code_key_l = postal_code_key_r)"
    )
    fuzzy_sql = (
        "jaro_winkler_similarity(street_key_l, street_key_r) >= 0.9 "
        "AND postal_code_key_l = postal_code_key_r"
    )
    same_city_sql = "city_key_l = city_key_r"
    postcode_sql = "postal_code_key_l = postal_code_key_r"
    one_edit_sql = "levenshtein(postal_code_key_l, postal_code_key_r) <= 1"
    two_edits_sql = (
        f"least(length(postal_code_key_l), length(postal_code_key_r)) >= {_LONG_POSTCODE} "
        "AND levenshtein(postal_code_key_l, postal_code_key_r) <= 2"
    )
    same_city = _equal("city_key")
    same_postcode = _equal("postal_code_key")
    one_edit = _levenshtein_within("postal_code_key", 1)
    two_edits = _all(_long_postcodes, _levenshtein_within("postal_code_key", 2))
    street, postcode, city = (frozenset({c}) for c in _LOCATION_COLUMNS)
    return Comparison(
        "address",
        _LOCATION_COLUMNS,
        (
            Level("null", null_sql, _no_location, 1.0, 1.0, null=True),
            # A pair at this level may lack a postcode on one side, so only
            # the street is certain to agree.
            Level(
                "same street and postcode",
                exact_sql,
                _street_and_postcode,
                0.60,
                0.0005,
                agrees=street,
            ),
            Level(
                "similar street, same postcode",
                fuzzy_sql,
                _fuzzy_street_same_postcode,
                0.15,
                0.0005,
                agrees=postcode,
            ),
            Level(
                "same street",
                "street_key_l = street_key_r",
                _equal("street_key"),
                0.03,
                0.001,
                agrees=street,
            ),
            Level(
                "same postcode and city",
                f"{postcode_sql} AND {same_city_sql}",
                _all(same_postcode, same_city),
                0.05,
                0.005,
                agrees=postcode | city,
            ),
            Level("same postcode", postcode_sql, same_postcode, 0.02, 0.005, agrees=postcode),
            Level(
                "postcode one edit apart, same city",
                f"{one_edit_sql} AND {same_city_sql}",
                _all(one_edit, same_city),
                0.02,
                0.002,
            ),
            Level("postcode one edit apart", one_edit_sql, one_edit, 0.02, 0.005),
            Level("postcode two edits apart", two_edits_sql, two_edits, 0.02, 0.01),
            Level("same city", same_city_sql, same_city, 0.05, 0.05, agrees=city),
            _otherwise(0.10, 0.92),
        ),
    )


def _date_parts(left: Record, right: Record) -> tuple[str, str] | None:
    a, b = left.get("birth_date"), right.get("birth_date")
    if not a or not b or len(a) != 10 or len(b) != 10:
        return None
    return str(a), str(b)


def _transposed(left: Record, right: Record) -> bool:
    dates = _date_parts(left, right)
    if dates is None:
        return False
    a, b = dates
    return a[:4] == b[:4] and a[5:7] == b[8:10] and a[8:10] == b[5:7]


def _one_typo(left: Record, right: Record) -> bool:
    a, b = left.get("birth_date"), right.get("birth_date")
    return bool(a and b and OSA.distance(str(a), str(b)) <= 1)


def _one_typo_sql(column: str) -> str:
    """Return SQL that is true when the Damerau-Levenshtein distance is at most 1.

    DuckDB's ``damerau_levenshtein`` is several times slower than
    ``levenshtein``, so it runs only on strings of equal length that differ
    in exactly two places, the one case where a transposition matters.
    """
    left, right = f"{column}_l", f"{column}_r"
    return (
        f"CASE WHEN length({left}) <> length({right}) THEN levenshtein({left}, {right}) <= 1 "
        f"WHEN hamming({left}, {right}) <= 1 THEN TRUE "
        f"WHEN hamming({left}, {right}) = 2 THEN damerau_levenshtein({left}, {right}) <= 1 "
        "ELSE FALSE END"
    )


def _two_parts_agree(left: Record, right: Record) -> bool:
    dates = _date_parts(left, right)
    if dates is None:
        return False
    a, b = dates
    return (a[:4] == b[:4]) + (a[5:7] == b[5:7]) + (a[8:10] == b[8:10]) >= 2


def _same_year(left: Record, right: Record) -> bool:
    a, b = left.get("birth_date"), right.get("birth_date")
    return bool(a and b and str(a)[:4] == str(b)[:4])


def _date_part_sql(column: str, start: int, length: int) -> str:
    return f"substr({column}_l, {start}, {length}) = substr({column}_r, {start}, {length})"


def birth_date() -> Comparison:
    """Date of birth (ISO text): exact, day and month swapped, one typo, one part wrong, year.

    A typo is one inserted, deleted or replaced character, or two adjacent
    characters swapped (``1964-11-71`` for ``1964-11-17``). A date with one
    wrong part (``1987-10-24`` for ``1992-10-24``, ``1944-09-03`` for
    ``1944-11-03``) agrees on the other two of year, month and day.
    """
    column = "birth_date"
    full_dates = f"length({column}_l) = 10 AND length({column}_r) = 10"
    year, month, day = (_date_part_sql(column, *part) for part in ((1, 4), (6, 2), (9, 2)))
    transposed_sql = (
        f"{full_dates} AND {year} AND "
        f"substr({column}_l, 6, 2) = substr({column}_r, 9, 2) AND "
        f"substr({column}_l, 9, 2) = substr({column}_r, 6, 2)"
    )
    two_parts_sql = (
        f"{full_dates} AND "
        f"(CAST({year} AS INTEGER) + CAST({month} AS INTEGER) + CAST({day} AS INTEGER)) >= 2"
    )
    return Comparison(
        "birth_date",
        (column,),
        (
            _null(column),
            _exact(column, 0.85, 0.0003),
            Level("day and month swapped", transposed_sql, _transposed, 0.02, 0.00001),
            Level(
                "one typo",
                _one_typo_sql(column),
                _one_typo,
                0.07,
                0.003,
            ),
            Level("one part differs", two_parts_sql, _two_parts_agree, 0.03, 0.004),
            Level(
                "same year", f"left({column}_l, 4) = left({column}_r, 4)", _same_year, 0.02, 0.013
            ),
            _otherwise(0.04, 0.98),
        ),
    )


def _no_company(record: Record) -> bool:
    return record.get("company_name_key") is None and record.get("company_domain") is None


def company() -> Comparison:
    """Employer: exact name key, same domain, similar name."""
    column = "company_name_key"
    null_sql = (
        f"({column}_l IS NULL AND company_domain_l IS NULL) OR "
        f"({column}_r IS NULL AND company_domain_r IS NULL)"
    )
    null = Level(
        "null",
        null_sql,
        lambda left, right: _no_company(left) or _no_company(right),
        1.0,
        1.0,
        null=True,
    )
    return Comparison(
        "company",
        (column, "company_domain"),
        (
            null,
            _exact(column, 0.70, 0.001),
            Level(
                "same domain",
                "company_domain_l = company_domain_r",
                _equal("company_domain"),
                0.10,
                0.001,
            ),
            _jw(column, 0.9, 0.10, 0.003),
            _otherwise(0.10, 0.995),
        ),
    )


def _nameless_email(record: Record) -> bool:
    return (
        record.get("email_local_key") is not None
        and record.get("first_name_key") is None
        and record.get("last_name_key") is None
    )


def _email_name_active(left: Record, right: Record) -> bool:
    return (_nameless_email(left) and right.get("name_full_key") is not None) or (
        _nameless_email(right) and left.get("name_full_key") is not None
    )


def _email_spells(column: str) -> Predicate:
    def test(left: Record, right: Record) -> bool:
        if _nameless_email(left):
            return left.get("email_local_key") == right.get(column)
        return right.get("email_local_key") == left.get(column)

    return test


def _email_contains_family_name(left: Record, right: Record) -> bool:
    nameless, named = (left, right) if _nameless_email(left) else (right, left)
    local, family = nameless.get("email_local_key"), named.get("last_name_key")
    return bool(local and family and len(family) >= 4 and family in local)


def _email_name_sql(condition: str) -> str:
    """Return ``condition`` oriented from the nameless email record to the named one."""
    left = condition.replace("{email}", "email_local_key_l").replace("{name}", "_r")
    right = condition.replace("{email}", "email_local_key_r").replace("{name}", "_l")
    return (
        "(email_local_key_l IS NOT NULL AND first_name_key_l IS NULL AND last_name_key_l IS NULL "
        f"AND ({left})) OR "
        "(email_local_key_r IS NOT NULL AND first_name_key_r IS NULL AND last_name_key_r IS NULL "
        f"AND ({right}))"
    )


def email_name() -> Comparison:
    """Compare the email of a record without a name with the name of the other record.

    Product analytics and newsletter tools often know only a login email.
    The comparison applies only when one record has an email and no name and
    the other has a name, so it never counts name evidence twice.
    """
    active_sql = _email_name_sql("name_full_key{name} IS NOT NULL")
    full_sql = _email_name_sql("{email} = name_full_key{name} OR {email} = name_reversed_key{name}")
    initial_sql = _email_name_sql("{email} = name_initial_key{name}")
    family_sql = _email_name_sql(
        "length(last_name_key{name}) >= 4 AND contains({email}, last_name_key{name})"
    )
    return Comparison(
        "email_name",
        (
            "email_local_key",
            "name_full_key",
            "name_initial_key",
            "name_reversed_key",
            "first_name_key",
            "last_name_key",
        ),
        (
            Level(
                "null",
                f"NOT ({active_sql})",
                lambda left, right: not _email_name_active(left, right),
                1.0,
                1.0,
                null=True,
            ),
            # Never reached, because the null level takes pairs where both
            # records have names; Splink needs an exact level on name_full_key
            # to adjust the next level for how common the name is.
            Level(
                "same full name",
                "name_full_key_l = name_full_key_r",
                _equal("name_full_key"),
                0.45,
                0.00001,
                fixed=True,
            ),
            Level(
                "email spells the full name",
                full_sql,
                lambda left, right: (
                    _email_spells("name_full_key")(left, right)
                    or _email_spells("name_reversed_key")(left, right)
                ),
                0.45,
                0.00001,
                tf_column="name_full_key",
            ),
            Level(
                "email spells initial and family name",
                initial_sql,
                _email_spells("name_initial_key"),
                0.25,
                0.0005,
                fixed=True,
            ),
            Level(
                "email contains the family name",
                family_sql,
                _email_contains_family_name,
                0.15,
                0.0003,
            ),
            _otherwise(0.15, 0.9996),
        ),
    )


VOCABULARY: dict[str, Callable[[], list[Comparison]]] = {
    "name": lambda: [first_name(), last_name()],
    "email": lambda: [email(), email_name()],
    "phone": lambda: [phone()],
    "address": lambda: [address()],
    "birth_date": lambda: [birth_date()],
    "company": lambda: [company()],
}

# The columns of which at least one must have data for each vocabulary entry to be used.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("last_name_key",),
    "email": ("email_key",),
    "phone": ("phone_key",),
    "address": _LOCATION_COLUMNS,
    "birth_date": ("birth_date",),
    "company": ("company_name_key",),
}

INPUT_COLUMNS = (
    "first_name_key",
    "first_name_nick_key",
    "last_name_key",
    "email_key",
    "email_is_role",
    "email_user_key",
    "email_local_key",
    "nameless_email_key",
    "name_full_key",
    "name_initial_key",
    "name_reversed_key",
    "phone_key",
    "street_key",
    "postal_code_key",
    "city_key",
    "birth_date",
    "birth_year",
    "company_name_key",
    "company_domain",
)


def build_comparisons(names: list[str]) -> list[Comparison]:
    """Return the comparisons for the given vocabulary names, in vocabulary order."""
    out: list[Comparison] = []
    for name in VOCABULARY:
        if name in names:
            out.extend(VOCABULARY[name]())
    return out
