-- Integrity across models: sla_daily adds up to fct_complaints per brand.
with daily as (
    select brand, sum(cases) as cases, sum(complaints) as complaints, sum(answered) as answered
    from {{ ref('sla_daily') }}
    group by brand
),
facts as (
    select
        brand,
        count(*) as cases,
        count(case when is_complaint then 1 end) as complaints,
        count(case when answered_within_window then 1 end) as answered
    from {{ ref('fct_complaints') }}
    group by brand
)
select coalesce(daily.brand, facts.brand) as brand
from daily
full outer join facts on daily.brand = facts.brand
where daily.cases is distinct from facts.cases
    or daily.complaints is distinct from facts.complaints
    or daily.answered is distinct from facts.answered
