-- SLA metrics per brand and local day of case opening (the brand's time zone).
with

complaints as (

    select * from {{ ref('fct_complaints') }}

),

daily as (

    select
        c.brand,
        c.opened_day as day,
        {{ sla_metrics() }}

    from complaints as c
    group by c.brand, c.opened_day

)

select * from daily
