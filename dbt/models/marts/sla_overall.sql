-- SLA metrics over the whole period: one row per brand and one for all brands.
with

complaints as (

    select * from {{ ref('fct_complaints') }}

),

overall as (

    -- one pass for both levels: the grouping set () is the row over every brand
    select
        coalesce(c.brand, 'all') as brand,
        min(c.opened_day) as first_day,
        max(c.opened_day) as last_day,
        {{ sla_metrics() }}

    from complaints as c
    group by grouping sets ((c.brand), ())

)

select * from overall
