"""Data-level checks beyond row expectations: freshness, volume, drift, lineage.

These look at the data as a whole, "as of" the run (never the wall clock, so
historic data can be checked): is the newest post recent enough, is yesterday's
mention volume inside a band around the trailing 28-day median, has the median
first response time drifted, and does every reporting row trace back to a raw
post. Severity comes from the configuration: `error` stops the publish, `warn`
is recorded and shown.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import duckdb

from carewatch.check_results import CheckResult
from carewatch.config import QualitySettings


def data_level_checks(
    con: duckdb.DuckDBPyConnection,
    as_of: datetime,
    settings: QualitySettings,
    changed_since: datetime | None = None,
) -> list[CheckResult]:
    """changed_since limits the lineage check to rows rebuilt after it."""
    return [
        _freshness(con, as_of, settings),
        *_volume(con, as_of, settings),
        *_frt_drift(con, as_of, settings),
        *_lineage(con, changed_since),
    ]


def _freshness(con, as_of: datetime, settings: QualitySettings) -> CheckResult:
    newest = con.sql("select max(created_at) from raw.posts").fetchone()[0]
    if newest is None:
        return CheckResult(
            "raw.posts",
            "source_freshness",
            "created_at",
            False,
            "no posts",
            severity=settings.freshness_severity,
        )
    age_hours = (as_of - newest).total_seconds() / 3600
    return CheckResult(
        table="raw.posts",
        expectation="source_freshness",
        column="created_at",
        passed=age_hours <= settings.freshness_max_age_hours,
        observed=f"newest post {newest:%Y-%m-%d %H:%M} UTC is {age_hours:.1f} h old "
        f"(limit {settings.freshness_max_age_hours:g} h)",
        severity=settings.freshness_severity,
    )


def _volume(con, as_of: datetime, settings: QualitySettings) -> list[CheckResult]:
    # The last complete day before "as of": the current day is still filling up.
    timezone = con.sql(
        "select timezone from carewatch_config.brands where is_own_brand"
    ).fetchone()[0]
    target_day = as_of.astimezone(ZoneInfo(timezone)).date() - timedelta(days=1)
    rows = con.sql(
        """
        with brands as (select distinct brand from marts.share_of_voice_daily),
        spine as (
            select brands.brand, cast(? as date) - cast(offs.o as integer) as day,
                   offs.o = 0 as is_target
            from brands, range(0, 29) as offs(o)
        ),
        volumes as (
            select spine.brand, spine.day, spine.is_target, coalesce(v.mentions, 0) as mentions
            from spine
            left join marts.share_of_voice_daily as v
                on v.brand = spine.brand and v.day = spine.day
        )
        select brand,
               max(case when is_target then day end) as day,
               max(case when is_target then mentions end) as mentions,
               median(case when not is_target then mentions end) as trailing_median
        from volumes group by brand order by brand
        """,
        params=[target_day],
    ).fetchall()
    results = []
    factor = settings.volume_band_factor
    for brand, day, mentions, median in rows:
        if median is None or median < settings.volume_min_median:
            passed, note = True, f"trailing median {median or 0:g} below the minimum, not judged"
        else:
            low, high = median / factor, median * factor
            passed = low <= mentions <= high
            note = f"band {low:.0f}..{high:.0f} around the 28-day median {median:g}"
        results.append(
            CheckResult(
                table="share_of_voice_daily",
                expectation="mention_volume_within_band",
                column=brand,
                passed=passed,
                observed=f"{mentions} mentions on {day}; {note}",
                failing_sample=[] if passed else [f"{brand}|{day}"],
                severity=settings.volume_severity,
            )
        )
    return results


def _frt_drift(con, as_of: datetime, settings: QualitySettings) -> list[CheckResult]:
    rows = con.sql(
        """
        select brand,
               median(case when opened_at >= cast(? as timestamptz) - interval 7 day
                      then first_response_minutes end) as recent_median,
               count(case when opened_at >= cast(? as timestamptz) - interval 7 day
                     then first_response_minutes end) as recent_cases,
               median(case when opened_at < cast(? as timestamptz) - interval 7 day
                      then first_response_minutes end) as baseline_median,
               count(case when opened_at < cast(? as timestamptz) - interval 7 day
                     then first_response_minutes end) as baseline_cases
        from marts.fct_complaints
        where opened_at >= cast(? as timestamptz) - interval 35 day
          and opened_at < cast(? as timestamptz)
        group by brand order by brand
        """,
        params=[as_of] * 6,
    ).fetchall()
    results = []
    factor = settings.frt_drift_factor
    for brand, recent, recent_n, baseline, baseline_n in rows:
        enough = min(recent_n, baseline_n) >= settings.frt_drift_min_cases and baseline
        if not enough:
            passed = True
            observed = f"{recent_n} recent / {baseline_n} baseline answered cases: not judged"
        else:
            ratio = recent / baseline
            passed = 1 / factor <= ratio <= factor
            observed = (
                f"median FRT last 7 days {recent:.1f} min vs previous 28 days {baseline:.1f} min "
                f"(x{ratio:.2f}, limit x{factor:g})"
            )
        results.append(
            CheckResult(
                table="fct_complaints",
                expectation="frt_median_without_drift",
                column=brand,
                passed=passed,
                observed=observed,
                failing_sample=[] if passed else [brand],
                severity=settings.frt_drift_severity,
            )
        )
    return results


LINEAGE = {
    "fct_complaints": "opening_post_id",
    "fct_responses": "post_id",
    "fct_follow_ups": "post_id",
}


def _lineage(con, changed_since: datetime | None = None) -> list[CheckResult]:
    """Every reporting row traces back to a raw post (referential integrity)."""
    results = []
    scope = "" if changed_since is None else "where t.built_at > cast(? as timestamp)"
    params = None if changed_since is None else [changed_since]
    for table, column in LINEAGE.items():
        orphans = con.sql(
            f"""select t.platform || ':' || t.{column}
                from marts.{table} as t
                anti join raw.posts as p on p.platform = t.platform and p.post_id = t.{column}
                {scope}""",
            params=params,
        ).fetchall()
        total = con.sql(f"select count(*) from marts.{table}").fetchone()[0]
        results.append(
            CheckResult(
                table=table,
                expectation="references_raw_post",
                column=column,
                passed=not orphans,
                observed=f"{len(orphans)} of {total} rows without a raw post",
                failing_sample=[o[0] for o in orphans[:20]],
            )
        )
    return results
