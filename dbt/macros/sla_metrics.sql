{#-
    The aggregate SLA metrics of DESIGN.md over a group of fct_complaints rows
    (`c`, whose reply counts give the formal/informal shares). Shared by sla_daily and
    sla_overall so both always compute a metric the same way. A rate whose
    denominator is 0 is null (nullif), never 0.
-#}
{% macro sla_metrics() %}
        count(*) as cases,
        count(case when c.is_complaint then 1 end) as complaints,
        count(case when c.answered_within_window then 1 end) as answered,
        count(case when c.answered_within_window then 1 end) * 1.0
            / nullif(count(*), 0) as response_rate,
        {{ percentile_cont('c.first_response_minutes', 0.5, together=[0.5, 0.9]) }} as median_frt_minutes,
        {{ percentile_cont('c.first_response_minutes', 0.9, together=[0.5, 0.9]) }} as p90_frt_minutes,
        {{ percentile_cont('c.first_response_business_minutes', 0.5, together=[0.5, 0.9]) }} as median_frt_business_minutes,
        {{ percentile_cont('c.first_response_business_minutes', 0.9, together=[0.5, 0.9]) }} as p90_frt_business_minutes,
        count(case when c.sla_status = 'met' then 1 end) * 1.0
            / nullif(count(case when c.sla_status in ('met', 'breached') then 1 end), 0)
            as sla_met_rate,
        count(case when c.opened_on_weekend then 1 end) as weekend_cases,
        count(case when c.answered_before_monday then 1 end) * 1.0
            / nullif(count(case when c.opened_on_weekend then 1 end), 0) as weekend_coverage,
        count(case when c.is_unanswered then 1 end) as open_backlog,
        count(case when c.moved_to_private then 1 end) * 1.0
            / nullif(count(c.first_response_at), 0) as moved_to_private_rate,
        count(case when c.recontacted then 1 end) * 1.0
            / nullif(count(c.first_response_at), 0) as recontact_rate,
        count(case when c.resolved then 1 end) * 1.0
            / nullif(count(c.first_response_at), 0) as resolution_rate,
        count(case when c.is_boomerang then 1 end) * 1.0
            / nullif(count(case when c.moved_to_private then 1 end), 0) as boomerang_rate,
        count(case when c.is_complaint and c.origin = 'unaddressed' then 1 end)
            as unaddressed_complaints,
        count(case when c.is_complaint and c.origin = 'unaddressed' and c.answered_within_window then 1 end) * 1.0
            / nullif(count(case when c.is_complaint and c.origin = 'unaddressed' then 1 end), 0)
            as proactive_reach_rate,
        sum(c.formal_responses) * 1.0 / nullif(sum(c.responses), 0) as formal_share,
        sum(c.informal_responses) * 1.0 / nullif(sum(c.responses), 0) as informal_share
{% endmacro %}
