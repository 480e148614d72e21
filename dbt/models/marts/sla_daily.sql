-- SLA metrics per brand and local day of case opening (the brand's time zone).
with

complaints as (

    select * from {{ ref('fct_complaints') }}

),

tone as (

    {{ case_tone_counts() }}

),

daily as (

    select
        c.brand,
        c.opened_day as day,
        {{ sla_metrics() }}

    from complaints as c
    left join tone
        on c.case_id = tone.case_id
    group by c.brand, c.opened_day

)

select * from daily
