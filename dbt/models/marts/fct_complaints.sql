-- One row per case: what the customer raised, when, and how the brand answered.
-- The case rows come whole from int_cases_followed_up; only the SLA status of an
-- unanswered case depends on the run's "as of" (breached once older than the
-- target in business time, else pending).
--
-- Incremental by conversation (macros/conversation_scope.sql), like the models it
-- reads: a run recomputes the cases of the conversations rebuilt since its last
-- run and the cases still pending (the clock may have breached them); the rest of
-- the history is not rewritten. An "as of" earlier than the one the stored
-- statuses were computed for (`status_as_of`) recomputes every case.
-- depends_on: {{ ref('int_posts_threaded') }}
{%- set since = conversation_scope_since() %}
{{ config(
    materialized='incremental',
    incremental_strategy='forget_and_append',
    on_schema_change='append_new_columns',
    forget_by='opening_post_id',
    forget_also="sla_status = 'pending'",
    status_as_of_column='status_as_of'
) }}
with

cases as (

    select * from {{ ref('int_cases_followed_up') }}
    where {{ rebuilt_after(since) }}
    {%- if since is not none %}
        -- the stored cases the clock may change (the strategy forgets the same rows)
        or case_id in (select case_id from {{ this }} where {{ config.get('forget_also') }})
    {%- endif %}

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

        -- backlog (its age is "as of" minus opened_at: publish_info.as_of in the
        -- reporting database; a stored age would rewrite every row every run)
        cases.is_unanswered,

        -- build stamps (warehouse only: the quality gate and publish take the rows
        -- rebuilt since their last pass; publish leaves the stamps out)
        {{ build_stamp() }} as built_at,
        cases.config_version,
        as_of_clock.as_of_at as status_as_of

    from cases
    inner join as_of_clock
        on cases.brand = as_of_clock.brand_key
    left join calendar as open_day
        on cases.brand = open_day.brand_key
        and cases.opened_day = open_day.local_date

)

select * from final
