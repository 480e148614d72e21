-- One row per case: what the customer raised, when, and how the brand answered.
-- The case rows come whole from int_cases_followed_up (incremental); only what
-- depends on the run's "as of" is computed here: the SLA status of unanswered
-- cases (breached once older than the target in business time, else pending)
-- and the age of every case.
with

cases as (

    select * from {{ ref('int_cases_followed_up') }}

),

calendar as (

    select * from {{ ref('int_business_calendar') }}

),

as_of_clock as (

    -- "as of" on each brand's business clock, once per brand
    select
        brands.brand_key,
        brands.as_of_at,
        {{ business_clock_us('brands.as_of_at', 'as_of_day') }} as as_of_business_us

    from (
        select
            brand_key,
            {{ as_of_timestamp() }} as as_of_at,
            {{ to_local_timestamp(as_of_timestamp(), 'timezone') }} as as_of_local
        from {{ ref('stg_config__brands') }}
    ) as brands
    left join calendar as as_of_day
        on brands.brand_key = as_of_day.brand_key
        and cast(brands.as_of_local as date) = as_of_day.local_date

),

final as (

    select
        -- ids
        cases.case_id,
        cases.platform,
        cases.brand,
        cases.brand_name,
        cases.opening_post_id,
        cases.customer_key,

        -- what was raised
        cases.opened_at,
        cases.opened_day,
        cases.opened_local_weekday,
        cases.opened_local_hour,
        cases.origin,
        cases.case_kind,
        cases.is_complaint,
        cases.topic,
        cases.language,

        -- first response
        cases.first_response_at,
        cases.first_response_post_id,
        cases.first_response_minutes,
        cases.first_response_business_minutes,
        cases.answered_within_window,
        case
            when cases.first_response_at is not null then
                case
                    when cases.first_response_business_minutes <= cases.sla_target_minutes
                        then 'met'
                    else 'breached'
                end
            when {{ us_to_minutes(
                'as_of_clock.as_of_business_us - ' ~ business_clock_us('cases.opened_at', 'open_day')
            ) }} > cases.sla_target_minutes then 'breached'
            else 'pending'
        end as sla_status,
        cases.sla_target_minutes,

        -- weekend
        cases.opened_on_weekend,
        cases.answered_before_monday,

        -- follow-ups
        cases.moved_to_private,
        cases.recontacted,
        cases.resolved,
        cases.is_boomerang,

        -- replies
        cases.responses,
        cases.formal_responses,
        cases.informal_responses,

        -- backlog
        cases.is_unanswered,
        {{ us_to_minutes(microseconds_between('cases.opened_at', 'as_of_clock.as_of_at')) }}
            as age_minutes_as_of,

        -- build stamps (warehouse only: the quality gate checks the rows rebuilt
        -- since its last pass; publish leaves them out)
        cases.built_at,
        cases.config_version

    from cases
    inner join as_of_clock
        on cases.brand = as_of_clock.brand_key
    left join calendar as open_day
        on cases.brand = open_day.brand_key
        and cases.opened_day = open_day.local_date

)

select * from final
