-- Each case with its first response and first response time, in calendar and
-- business minutes. What depends on "as of" (age, pending or breached) is left
-- to fct_complaints, so these rows stay valid from one run to the next.
--
-- Incremental by conversation (macros/conversation_scope.sql).
-- depends_on: {{ ref('int_posts_threaded') }}
{%- set since = conversation_scope_since() %}
{{ config(
    materialized='incremental',
    incremental_strategy='forget_and_append',
    on_schema_change='sync_all_columns',
    forget_by='opening_post_id'
) }}
with

cases as (

    select
        case_id,
        platform,
        brand_key,
        opening_post_id,
        conversation_root_post_id,
        customer_handle,
        customer_key,
        opened_at,
        opened_at_local,
        origin

    from {{ ref('int_cases_opened') }}
    where {{ rebuilt_after(since) }}

),

brands as (

    select * from {{ ref('stg_config__brands') }}

),

first_responses as (

    select * from {{ ref('int_responses_matched') }}
    where is_first_response
        and {{ rebuilt_after(since) }}

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
        first_responses.responded_at_local as first_response_at_local

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
            - {{ business_clock_us('joined.opened_at', 'open_day') }} as frt_business_us

    from joined
    inner join calendar as open_day
        on joined.brand_key = open_day.brand_key
        and cast(joined.opened_at_local as date) = open_day.local_date
    left join calendar as response_day
        on joined.brand_key = response_day.brand_key
        and cast(joined.first_response_at_local as date) = response_day.local_date

),

measured as (

    select
        *,
        {{ us_to_minutes('frt_us') }} as first_response_minutes,
        {{ us_to_minutes('frt_business_us') }} as first_response_business_minutes,
        {{ case_build_columns() }}

    from clocked

)

select * from measured
