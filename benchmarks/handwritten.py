"""The Wigan Lot 1 KPIs written by hand, the way a data analyst would: the yardsticks.

The three versions (pandas, DuckDB SQL, Polars) compute, per contract year (quarter for case
studies), every figure the spec asks for (numerator, denominator or count) and fetch the keys
of the rows behind each breach, with the same reading of missing values as specrules (a
missing flag is not true; an appointment never offered is late). They do no data checking
(duplicate keys, links to nothing, bad values), which specrules does; docs/performance.md
says so beside the figures.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

YEAR_STARTS = np.array(
    [f"{y}-07-01" for y in range(2019, 2026)], dtype="datetime64[ns]"
)  # contract years begin on 1 July


def _year(dates: pd.Series) -> np.ndarray:
    """Contract-year index of each date (-1 when missing)."""
    values = dates.to_numpy(dtype="datetime64[ns]")
    position = np.searchsorted(YEAR_STARTS, values, side="right") - 1
    position[np.isnat(values)] = -1
    return position


def _quarter(dates: pd.Series) -> np.ndarray:
    months = dates.dt.year * 12 + dates.dt.month - (2019 * 12 + 7)
    return (months // 3).fillna(-1).astype(int).to_numpy()


def _true(values: pd.Series) -> np.ndarray:
    return values.fillna(False).to_numpy(dtype=bool)


def _proportion(
    out: dict,
    rule: str,
    period: np.ndarray,
    denominator: np.ndarray,
    numerator: np.ndarray,
    keys: pd.Series,
) -> None:
    rows = denominator & (period >= 0)
    table = pd.DataFrame({"period": period[rows], "hit": numerator[rows]})
    figures = table.groupby("period")["hit"].agg(["sum", "count"])
    failing = rows & ~numerator
    failing_keys = pd.DataFrame({"period": period[failing], "key": keys.to_numpy()[failing]})
    for p, (num, den) in figures.iterrows():
        out[(rule, int(p))] = (float(num), float(den), num / den if den else None)
    out[(rule, "failing")] = failing_keys


def pandas_kpis(frames: dict[str, pd.DataFrame]) -> dict:
    out: dict = {}
    ref = frames["referrals"]
    year = _year(ref["received_on"])
    accepted = _true(ref["accepted"])
    age = ref["age"]
    old_enough = (age >= 16) | (
        (age >= 12) & ref["prescribing_requested"] & ref["fraser_competent"]
    )
    _proportion(out, "age_minimum", year, accepted, _true(old_enough), ref["referral_id"])
    borough = (
        ref["lives_in_borough"] | ref["works_or_studies_in_borough"] | ref["registered_wigan_gp"]
    )
    _proportion(out, "borough_connection", year, accepted, _true(borough), ref["referral_id"])
    _proportion(
        out,
        "consent_to_referral",
        year,
        accepted,
        _true(ref["consent_given"]),
        ref["referral_id"],
    )
    limit = np.where(_true(ref["stop_smoking_requested"]), 7, 14).astype("timedelta64[D]")
    on_time = (ref["first_offer_on"] <= ref["received_on"] + limit).to_numpy(dtype=bool)
    _proportion(out, "first_appointment_offered", year, accepted, on_time, ref["referral_id"])

    iv = frames["interventions"]
    iv_year = _year(iv["started_on"])
    clients = pd.DataFrame({"period": iv_year, "client": iv["client_id"]})
    clients = clients[clients["period"] >= 0].groupby("period")["client"].nunique()
    for p, count in clients.items():
        out[("clients_commencing", int(p))] = float(count)
    _proportion(
        out,
        "most_deprived_share",
        iv_year,
        np.ones(len(iv), dtype=bool),
        _true(iv["most_deprived_20pct"]),
        iv["intervention_id"],
    )

    qa = frames["quit_attempts"]
    q_year = _year(qa["quit_date"])
    dated = qa["quit_date"].notna().to_numpy()
    quit = _true(qa["quit_at_4_weeks"])
    _proportion(out, "quit_at_4_weeks", q_year, dated, quit, qa["quit_id"])
    _proportion(out, "quits_co_validated", q_year, quit, _true(qa["co_validated"]), qa["quit_id"])
    _proportion(
        out,
        "smoking_followed_up",
        q_year,
        np.ones(len(qa), dtype=bool),
        _true(qa["followed_up_4_weeks_post"]),
        qa["quit_id"],
    )

    ev = frames["evidence"]
    studies = ev[(ev["kind"] == "client case study").fillna(False)]
    counts = pd.Series(_quarter(studies["submitted_on"])).value_counts()
    for p in range(4 * (int(max(year.max(), 0)) + 1)):
        out[("case_studies", p)] = float(counts.get(p, 0))

    ind = frames["indicators"]
    prevalence = ind[(ind["indicator"] == "adult smoking prevalence").fillna(False)]
    highest = prevalence.groupby(_year(prevalence["period_end"]))["value"].max()
    for p, value in highest.items():
        out[("smoking_prevalence", int(p))] = float(value)
    return out


# ------------------------------------------------------------------ DuckDB SQL
_YEAR_SQL = "CAST(floor(datediff('month', DATE '2019-07-01', {col}) / 12) AS INTEGER)"


def duckdb_kpis(folder: str | Path) -> dict:
    import duckdb

    folder = Path(folder)
    con = duckdb.connect()
    con.execute("SET threads TO 2")
    for name in ("referrals", "interventions", "quit_attempts", "evidence", "indicators"):
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{folder / name}.parquet')")
    out: dict = {}

    def proportion(rule: str, table: str, key: str, year: str, den: str, num: str) -> None:
        sql = f"""
            WITH t AS (
              SELECT {key} AS key, {year} AS period,
                     coalesce({den}, false) AS den, coalesce({num}, false) AS num
              FROM {table})
            SELECT period, count(*) FILTER (WHERE num) AS n, count(*) AS d
            FROM t WHERE den AND period IS NOT NULL GROUP BY period ORDER BY period"""
        for period, n, d in con.execute(sql).fetchall():
            out[(rule, period)] = (float(n), float(d), n / d if d else None)
        out[(rule, "failing")] = con.sql(
            f"""SELECT {year} AS period, {key} AS key FROM {table}
                WHERE coalesce({den}, false) AND NOT coalesce({num}, false)"""
        ).to_arrow_table()

    ref_year = _YEAR_SQL.format(col="received_on")
    proportion(
        "age_minimum",
        "referrals",
        "referral_id",
        ref_year,
        "accepted",
        "age >= 16 OR (age >= 12 AND prescribing_requested AND fraser_competent)",
    )
    proportion(
        "borough_connection",
        "referrals",
        "referral_id",
        ref_year,
        "accepted",
        "lives_in_borough OR works_or_studies_in_borough OR registered_wigan_gp",
    )
    proportion(
        "consent_to_referral", "referrals", "referral_id", ref_year, "accepted", "consent_given"
    )
    proportion(
        "first_appointment_offered",
        "referrals",
        "referral_id",
        ref_year,
        "accepted",
        "first_offer_on <= received_on + CASE WHEN stop_smoking_requested "
        "THEN INTERVAL 7 DAY ELSE INTERVAL 14 DAY END",
    )
    iv_year = _YEAR_SQL.format(col="started_on")
    for period, count in con.execute(
        f"SELECT {iv_year} AS p, count(DISTINCT client_id) FROM interventions "
        "WHERE started_on IS NOT NULL GROUP BY p"
    ).fetchall():
        out[("clients_commencing", period)] = float(count)
    proportion(
        "most_deprived_share",
        "interventions",
        "intervention_id",
        iv_year,
        "true",
        "most_deprived_20pct",
    )
    q_year = _YEAR_SQL.format(col="quit_date")
    proportion(
        "quit_at_4_weeks",
        "quit_attempts",
        "quit_id",
        q_year,
        "quit_date IS NOT NULL",
        "quit_at_4_weeks",
    )
    proportion(
        "quits_co_validated",
        "quit_attempts",
        "quit_id",
        q_year,
        "quit_at_4_weeks",
        "co_validated",
    )
    proportion(
        "smoking_followed_up",
        "quit_attempts",
        "quit_id",
        q_year,
        "true",
        "followed_up_4_weeks_post",
    )
    years = con.execute(f"SELECT max({ref_year}) FROM referrals").fetchone()[0] or 0
    for period, count in con.execute(
        f"SELECT q.p, count(e.p) FROM range({4 * (years + 1)}) AS q(p) LEFT JOIN ("
        "SELECT CAST(floor(datediff('month', DATE '2019-07-01', submitted_on) / 3) AS INTEGER)"
        " AS p FROM evidence WHERE kind = 'client case study') AS e ON e.p = q.p GROUP BY q.p"
    ).fetchall():
        out[("case_studies", period)] = float(count)
    for period, value in con.execute(
        f"SELECT {_YEAR_SQL.format(col='period_end')} AS p, max(value) FROM indicators "
        "WHERE indicator = 'adult smoking prevalence' GROUP BY p"
    ).fetchall():
        out[("smoking_prevalence", period)] = float(value)
    return out


# ------------------------------------------------------------------ Polars
def polars_kpis(folder: str | Path) -> dict:
    """The same KPIs in Polars expressions over the Parquet files (read inside the timing)."""
    import polars as pl

    folder = Path(folder)
    read = {
        name: pl.read_parquet(folder / f"{name}.parquet")
        for name in ("referrals", "interventions", "quit_attempts", "evidence", "indicators")
    }
    out: dict = {}

    def months(col: str) -> pl.Expr:
        """Months since the contract began (1 July 2019): null for a missing date."""
        return pl.col(col).dt.year() * 12 + pl.col(col).dt.month() - (2019 * 12 + 7)

    def year(col: str) -> pl.Expr:
        return (months(col) // 12).alias("period")

    def proportion(rule: str, table: str, key: str, date: str, den: pl.Expr, num: pl.Expr) -> None:
        rows = read[table].select(
            pl.col(key).alias("key"),
            year(date),
            den.fill_null(False).alias("den"),
            num.fill_null(False).alias("num"),
        )
        rows = rows.filter(pl.col("den") & (pl.col("period") >= 0))
        figures = rows.group_by("period").agg(pl.col("num").sum().alias("n"), pl.len().alias("d"))
        for period, n, d in figures.iter_rows():
            out[(rule, period)] = (float(n), float(d), n / d if d else None)
        out[(rule, "failing")] = rows.filter(~pl.col("num")).select("period", "key")

    accepted = pl.col("accepted")
    old_enough = (pl.col("age") >= 16) | (
        (pl.col("age") >= 12) & pl.col("prescribing_requested") & pl.col("fraser_competent")
    )
    proportion("age_minimum", "referrals", "referral_id", "received_on", accepted, old_enough)
    borough = (
        pl.col("lives_in_borough")
        | pl.col("works_or_studies_in_borough")
        | pl.col("registered_wigan_gp")
    )
    proportion("borough_connection", "referrals", "referral_id", "received_on", accepted, borough)
    consent = pl.col("consent_given")
    proportion("consent_to_referral", "referrals", "referral_id", "received_on", accepted, consent)
    limit = pl.when(pl.col("stop_smoking_requested").fill_null(False)).then(7).otherwise(14)
    on_time = pl.col("first_offer_on") <= pl.col("received_on") + pl.duration(days=limit)
    proportion(
        "first_appointment_offered", "referrals", "referral_id", "received_on", accepted, on_time
    )

    clients = (
        read["interventions"]
        .select(year("started_on"), "client_id")
        .filter(pl.col("period") >= 0)
        .group_by("period")
        .agg(pl.col("client_id").drop_nulls().n_unique())
    )
    for period, count in clients.iter_rows():
        out[("clients_commencing", period)] = float(count)
    everyone = pl.lit(True)
    deprived = pl.col("most_deprived_20pct")
    proportion(
        "most_deprived_share", "interventions", "intervention_id", "started_on", everyone, deprived
    )

    quit_4_weeks = pl.col("quit_at_4_weeks")
    dated = pl.col("quit_date").is_not_null()
    proportion("quit_at_4_weeks", "quit_attempts", "quit_id", "quit_date", dated, quit_4_weeks)
    co = pl.col("co_validated")
    proportion("quits_co_validated", "quit_attempts", "quit_id", "quit_date", quit_4_weeks, co)
    followed = pl.col("followed_up_4_weeks_post")
    proportion("smoking_followed_up", "quit_attempts", "quit_id", "quit_date", everyone, followed)

    years = read["referrals"].select(year("received_on").max()).item() or 0
    studies = (
        read["evidence"]
        .filter(pl.col("kind") == "client case study")
        .group_by((months("submitted_on") // 3).alias("period"))
        .len()
    )
    counts = dict(studies.iter_rows())
    for period in range(4 * (max(years, 0) + 1)):
        out[("case_studies", period)] = float(counts.get(period, 0))

    highest = (
        read["indicators"]
        .filter(pl.col("indicator") == "adult smoking prevalence")
        .group_by(year("period_end"))
        .agg(pl.col("value").max())
    )
    for period, value in highest.iter_rows():
        out[("smoking_prevalence", period)] = float(value)
    return out
