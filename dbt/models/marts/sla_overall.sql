-- SLA metrics over the whole period: one row per brand and one for all brands.
with

complaints as (

    select * from {{ ref('fct_complaints') }}

),

tone as (

    {{ case_tone_counts() }}

),

per_brand as (

    select
        c.brand,
        min(c.opened_day) as first_day,
        max(c.opened_day) as last_day,
        {{ sla_metrics() }}

    from complaints as c
    left join tone
        on c.case_id = tone.case_id
    group by c.brand

),

all_brands as (

    select
        'all' as brand,
        min(c.opened_day) as first_day,
        max(c.opened_day) as last_day,
        {{ sla_metrics() }}

    from complaints as c
    left join tone
        on c.case_id = tone.case_id

)

select * from per_brand
union all
select * from all_brands
