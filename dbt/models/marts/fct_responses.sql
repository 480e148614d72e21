-- One row per support reply that answers a case, with its agent and tone.
--
-- Incremental by conversation (macros/conversation_scope.sql); the build stamps
-- stay in the warehouse (publish leaves them out of the reporting database).
-- depends_on: {{ ref('int_posts_threaded') }}
{%- set since = conversation_scope_since() %}
{{ config(
    materialized='incremental',
    incremental_strategy='forget_and_append',
    on_schema_change='append_new_columns',
    forget_by='post_id'
) }}
with

responses as (

    select * from {{ ref('int_responses_matched') }}
    where {{ rebuilt_after(since) }}

),

cases as (

    select * from {{ ref('int_cases_responded') }}
    where {{ rebuilt_after(since) }}

),

calendar as (

    select * from {{ ref('int_business_calendar') }}

),

signals as (

    select * from {{ ref('int_posts_classified') }}

),

final as (

    select
        responses.post_id,
        responses.case_id,
        responses.platform,
        responses.brand_key as brand,
        responses.account,
        responses.responded_at,
        cast(responses.responded_at_local as date) as responded_day,
        responses.is_first_response,
        {{ us_to_minutes(microseconds_between('responses.opened_at', 'responses.responded_at')) }}
            as minutes_since_open,
        {{ us_to_minutes(
            business_clock_us('responses.responded_at', 'response_day')
            ~ ' - ' ~ business_clock_us('cases.opened_at', 'open_day')
        ) }} as business_minutes_since_open,
        signals.agent,
        signals.address_form,
        signals.asks_private_channel,
        signals.uses_emoji,
        signals.has_small_talk,
        cast(signals.text_length as integer) as reply_length,
        {{ case_build_columns() }}

    from responses
    inner join cases
        on responses.case_id = cases.case_id
    inner join calendar as open_day
        on cases.brand_key = open_day.brand_key
        and cast(cases.opened_at_local as date) = open_day.local_date
    inner join calendar as response_day
        on cases.brand_key = response_day.brand_key
        and cast(responses.responded_at_local as date) = response_day.local_date
    inner join signals
        on responses.platform = signals.platform
        and responses.post_id = signals.post_id

)

select * from final
