"""The report and the dbt docs site, rendered in headless Chromium as a reader sees them."""

from __future__ import annotations

import re

from carewatch.docs_site import build_docs
from carewatch.report import write_report
from tests.browser import render

PLOTS = [
    "frt-distribution",
    "rates-over-time",
    "weekday-hour-heatmap",
    "follow-up-rates",
    "competitor-comparison",
    "backlog-by-age",
]


def test_sla_report_renders_every_plot_offline(demo_warehouse, tmp_path):
    page = write_report(demo_warehouse.reporting_path, tmp_path / "site" / "sla-report.html")
    html = page.read_text(encoding="utf-8")
    # nothing to fetch: no external scripts, styles, images or fonts
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html and "url(http" not in html

    screenshot = tmp_path / "report.png"
    dom = render(page.as_uri(), tmp_path / "profile", screenshot=screenshot)

    assert screenshot.stat().st_size > 50_000
    for plot in PLOTS:
        start = dom.index(f'data-plot="{plot}"')
        assert "<svg" in dom[start : start + 5000], plot
    for brand in ("telekom", "1und1", "vodafone", "comcast"):
        assert f"<td>{brand}</td>" in dom


def test_dbt_docs_site_shows_fct_complaints_and_its_columns(demo_warehouse, tmp_path):
    page = build_docs(demo_warehouse.path, tmp_path / "site")
    dom = render(page.as_uri() + "#!/model/model.carewatch.fct_complaints", tmp_path / "profile")
    assert "fct_complaints" in dom
    assert "first_response_business_minutes" in dom
    assert "Business minutes" in dom or "business minutes" in dom
