"""The SLA report: one self-contained HTML page with plots, from reporting.duckdb.

It reads only the published reporting database (what BI tools see), so the
report never shows numbers that failed their checks. Plots are inline SVG:
the page needs no network and no other file.
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
AGE_BUCKETS = ["< 1 h", "1-8 h", "8-24 h", "1-3 days", "3-7 days", "> 7 days"]


@dataclass
class Figure:
    key: str
    title: str
    caption: str
    svg: str


def _svg(fig) -> str:
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _query(con: duckdb.DuckDBPyConnection, sql: str):
    return con.sql(sql).df()


def key_numbers(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Per brand over the whole period, the numbers the report (and the artifact) lead with."""
    frame = _query(
        con,
        """select brand, cases, complaints, response_rate, median_frt_minutes,
                  median_frt_business_minutes, p90_frt_minutes, sla_met_rate, weekend_coverage,
                  moved_to_private_rate, recontact_rate, boomerang_rate, proactive_reach_rate,
                  open_backlog
           from sla_overall order by brand = 'all', cases desc""",
    )
    return frame.to_dict("records")


def key_numbers_from(reporting_path: Path) -> list[dict]:
    con = duckdb.connect(str(reporting_path), read_only=True)
    try:
        return key_numbers(con)
    finally:
        con.close()


def _frt_distribution(con) -> Figure:
    import matplotlib.pyplot as plt
    import numpy as np

    frame = _query(
        con,
        "select brand, first_response_minutes from fct_complaints "
        "where first_response_minutes is not null",
    )
    fig, ax = plt.subplots(figsize=(8, 3.6))
    bins = np.logspace(0, np.log10(max(frame["first_response_minutes"].max(), 10) + 1), 40)
    for brand, group in frame.groupby("brand"):
        ax.hist(
            group["first_response_minutes"] + 1, bins=bins, histtype="step", lw=1.6, label=brand
        )
    ax.set_xscale("log")
    ax.set_xlabel("first response time, calendar minutes (log scale)")
    ax.set_ylabel("cases")
    ax.legend(frameon=False)
    return Figure(
        "frt-distribution",
        "First response time per brand",
        "How long customers waited for the first answer. Peaks on the right are the "
        "weekend and overnight gaps.",
        _svg(fig),
    )


def _rates_over_time(con) -> Figure:
    import matplotlib.pyplot as plt

    frame = _query(
        con,
        """select brand, date_trunc('week', day) as week,
                  sum(answered) * 1.0 / sum(cases) as response_rate,
                  sum(sla_met_rate * cases) / nullif(sum(case when sla_met_rate is not null
                      then cases end), 0) as sla_met_rate
           from sla_daily group by all order by week""",
    )
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), sharey=True)
    for brand, group in frame.groupby("brand"):
        axes[0].plot(group["week"], group["response_rate"], label=brand)
        axes[1].plot(group["week"], group["sla_met_rate"], label=brand)
    axes[0].set_title("response rate (answered within window)")
    axes[1].set_title("SLA met rate (weighted by cases)")
    for ax in axes:
        ax.set_ylim(0, 1.05)
        ax.tick_params(axis="x", rotation=30)
    axes[1].legend(frameon=False, fontsize=8)
    return Figure(
        "rates-over-time",
        "Response rate and SLA met rate per week",
        "Weekly rates per brand; the SLA rate counts met / (met + breached).",
        _svg(fig),
    )


def _heatmaps(con, own_brand: str) -> Figure:
    import matplotlib.pyplot as plt
    import numpy as np

    frame = _query(
        con,
        f"""select opened_local_weekday as weekday, opened_local_hour as hour,
                   count(*) as cases, median(first_response_minutes) as median_frt
            from fct_complaints where brand = '{own_brand}' group by all""",
    )
    cases = np.zeros((7, 24))
    frt = np.full((7, 24), np.nan)
    for row in frame.itertuples():
        cases[row.weekday - 1, row.hour] = row.cases
        frt[row.weekday - 1, row.hour] = row.median_frt
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
    for ax, data, title, cmap in (
        (axes[0], cases, "cases opened", "Blues"),
        (axes[1], np.log10(frt + 1), "median first response (log10 minutes)", "magma_r"),
    ):
        image = ax.imshow(data, aspect="auto", cmap=cmap)
        ax.set_yticks(range(7), WEEKDAYS)
        ax.set_xticks(range(0, 24, 3))
        ax.set_xlabel("hour (brand time)")
        ax.set_title(title)
        fig.colorbar(image, ax=ax, shrink=0.8)
    return Figure(
        "weekday-hour-heatmap",
        f"When cases arrive and how long they wait ({own_brand})",
        "Weekday x hour in the brand's time zone. Dark cells on the right map are long "
        "waits: the weekend gap shows as Saturday and Sunday rows.",
        _svg(fig),
    )


def _follow_up_rates(con) -> Figure:
    import matplotlib.pyplot as plt
    import numpy as np

    frame = _query(
        con,
        "select brand, moved_to_private_rate, recontact_rate, boomerang_rate "
        "from sla_overall where brand <> 'all' order by brand",
    )
    fig, ax = plt.subplots(figsize=(8, 3.2))
    x = np.arange(len(frame))
    for offset, column in zip(
        (-0.27, 0, 0.27), ("moved_to_private_rate", "recontact_rate", "boomerang_rate"), strict=True
    ):
        ax.bar(x + offset, frame[column].fillna(0), width=0.25, label=column.replace("_", " "))
    ax.set_xticks(x, frame["brand"])
    ax.set_ylim(0, 1)
    ax.legend(frameon=False, fontsize=8)
    return Figure(
        "follow-up-rates",
        "Moved to private, re-contact and boomerang",
        "Of the answered cases: moved to DM/e-mail/phone and customers who wrote again; "
        "boomerang is the share of private moves that came back still unresolved.",
        _svg(fig),
    )


def _competitors(con) -> Figure:
    import matplotlib.pyplot as plt

    frame = _query(
        con,
        "select brand, median_frt_minutes, response_rate from sla_overall "
        "where brand <> 'all' order by median_frt_minutes",
    )
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.0))
    axes[0].barh(frame["brand"], frame["median_frt_minutes"])
    axes[0].set_title("median first response, minutes")
    axes[1].barh(frame["brand"], frame["response_rate"])
    axes[1].set_xlim(0, 1)
    axes[1].set_title("response rate")
    return Figure(
        "competitor-comparison",
        "Competitor comparison",
        "The care account against 1&1, Vodafone and Comcast over the whole period.",
        _svg(fig),
    )


def _backlog(con) -> Figure:
    import matplotlib.pyplot as plt
    import numpy as np

    frame = _query(
        con,
        """with open_cases as (
               -- age as of the published "as of" (publish_info), in calendar minutes
               select brand,
                      (epoch_us(publish_info.as_of) - epoch_us(opened_at)) / 60e6 as age_minutes
               from fct_complaints, publish_info
               where is_unanswered
           )
           select brand,
                  case
                      when age_minutes < 60 then '< 1 h'
                      when age_minutes < 480 then '1-8 h'
                      when age_minutes < 1440 then '8-24 h'
                      when age_minutes < 4320 then '1-3 days'
                      when age_minutes < 10080 then '3-7 days'
                      else '> 7 days'
                  end as age_bucket,
                  count(*) as cases
           from open_cases group by all""",
    )
    brands = sorted(frame["brand"].unique())
    fig, ax = plt.subplots(figsize=(8, 3.2))
    bottom = np.zeros(len(AGE_BUCKETS))
    for brand in brands:
        counts = [
            int(frame[(frame.brand == brand) & (frame.age_bucket == b)]["cases"].sum())
            for b in AGE_BUCKETS
        ]
        ax.bar(AGE_BUCKETS, counts, bottom=bottom, label=brand)
        bottom += counts
    ax.set_ylabel("unanswered cases")
    ax.legend(frameon=False, fontsize=8)
    return Figure(
        "backlog-by-age",
        "Unanswered backlog by age",
        "Cases without any response, by age as of the run.",
        _svg(fig),
    )


def format_pct(value) -> str:
    """A rate as a percentage; null (None or NaN) as n/a."""
    return "n/a" if value is None or value != value else f"{value * 100:.1f}%"


def format_minutes(value) -> str:
    """Minutes rounded; null (None or NaN) as n/a."""
    return "n/a" if value is None or value != value else f"{value:,.0f}"


def write_report(reporting_path: Path, out_path: Path, own_brand: str = "telekom") -> Path:
    """Render the report from the reporting database into one HTML file."""
    import matplotlib

    matplotlib.use("Agg")
    con = duckdb.connect(str(reporting_path), read_only=True)
    try:
        as_of, run_id = con.sql("select as_of, run_id from publish_info").fetchone()
        numbers = key_numbers(con)
        figures = [
            _frt_distribution(con),
            _rates_over_time(con),
            _heatmaps(con, own_brand),
            _follow_up_rates(con),
            _competitors(con),
            _backlog(con),
        ]
    finally:
        con.close()
    rows = "\n".join(
        f"<tr><td>{html.escape(str(r['brand']))}</td><td>{r['cases']:,}</td>"
        f"<td>{format_pct(r['response_rate'])}</td><td>{format_minutes(r['median_frt_minutes'])}</td>"
        f"<td>{format_minutes(r['median_frt_business_minutes'])}</td><td>{format_pct(r['sla_met_rate'])}</td>"
        f"<td>{format_pct(r['weekend_coverage'])}</td><td>{format_pct(r['proactive_reach_rate'])}</td>"
        f"<td>{r['open_backlog']:,}</td></tr>"
        for r in numbers
    )
    sections = "\n".join(
        f'<section class="plot" data-plot="{f.key}"><h2>{html.escape(f.title)}</h2>'
        f"<p>{html.escape(f.caption)}</p>{f.svg}</section>"
        for f in figures
    )
    generated = datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>carewatch SLA report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }}
table {{ border-collapse: collapse; margin: 1rem 0; }}
th, td {{ border-bottom: 1px solid #ddd; padding: .3rem .7rem; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
section.plot {{ margin: 2rem 0; }} section.plot svg {{ max-width: 100%; height: auto; }}
.meta {{ color: #666; font-size: .9rem; }}
</style></head><body>
<h1>carewatch SLA report</h1>
<p class="meta">As of {as_of:%Y-%m-%d %H:%M} UTC &middot; published run {html.escape(run_id)}
&middot; generated {generated}</p>
<table id="key-numbers"><thead><tr><th>brand</th><th>cases</th><th>response rate</th>
<th>median FRT (min)</th><th>median FRT (business min)</th><th>SLA met</th>
<th>weekend coverage</th><th>proactive reach</th><th>open backlog</th></tr></thead>
<tbody>
{rows}
</tbody></table>
{sections}
</body></html>
"""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(page, encoding="utf-8")
    return out_path
