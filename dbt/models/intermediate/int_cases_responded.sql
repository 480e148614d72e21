-- Each case with its first response and first response time, in calendar and
-- business minutes, plus its business age "as of" for unanswered cases.
with

cases as (

    select * from {{ ref('int_cases_opened') }}

),

brands as (

    -- "as of" in local time once per brand, not once per case
    select
        *,
        {{ as_of_timestamp() }} as as_of_at,
        {{ to_local_timestamp(as_of_timestamp(), 'timezone') }} as as_of_local

    from {{ ref('stg_config__brands') }}

),

first_responses as (

    select * from {{ ref('int_responses_matched') }}
    where is_first_response

),

calendar as (

    select * from {{ ref('int_business_calendar') }}

),

joined as (

    select
        cases.*,
        brands.timezone,
        brands.sla_target_minutes,
        brands.response_window_days,
        first_responses.post_id as first_response_post_id,
        first_responses.responded_at as first_response_at,
        first_responses.responded_at_local as first_response_at_local,
        brands.as_of_at,
        brands.as_of_local

    from cases
    inner join brands
        on cases.brand_key = brands.brand_key
    left join first_responses
        on cases.case_id = first_responses.case_id

),

clocked as (

    select
        joined.*,
        {{ microseconds_between('joined.opened_at', 'joined.first_response_at') }} as frt_us,
        {{ business_clock_us('joined.first_response_at', 'response_day') }}
            - {{ business_clock_us('joined.opened_at', 'open_day') }} as frt_business_us,
        {{ business_clock_us('joined.as_of_at', 'as_of_day') }}
            - {{ business_clock_us('joined.opened_at', 'open_day') }} as age_business_us,
        {{ microseconds_between('joined.opened_at', 'joined.as_of_at') }} as age_us

    from joined
    inner join calendar as open_day
        on joined.brand_key = open_day.brand_key
        and cast(joined.opened_at_local as date) = open_day.local_date
    left join calendar as response_day
        on joined.brand_key = response_day.brand_key
        and cast(joined.first_response_at_local as date) = response_day.local_date
    left join calendar as as_of_day
        on joined.brand_key = as_of_day.brand_key
        and cast(joined.as_of_local as date) = as_of_day.local_date

),

measured as (

    select
        *,
        {{ us_to_minutes('frt_us') }} as first_response_minutes,
        {{ us_to_minutes('frt_business_us') }} as first_response_business_minutes,
        {{ us_to_minutes('age_us') }} as age_minutes,
        {{ us_to_minutes('age_business_us') }} as age_business_minutes

    from clocked

)

select * from measured
