-- Follow-up events after the first response (the first response itself counts
-- for moved_to_private and technician): brand replies and the customer's own
-- later posts in the case, each turned into zero or more typed events.
--
-- Incremental by conversation (macros/conversation_scope.sql).
-- depends_on: {{ ref('int_posts_threaded') }}
{%- set since = conversation_scope_since() %}
{{ config(
    materialized='incremental',
    incremental_strategy='forget_and_append',
    on_schema_change='sync_all_columns',
    forget_by='post_id'
) }}
with

cases as (

    select * from {{ ref('int_cases_responded') }}
    where first_response_at is not null
        and {{ rebuilt_after(since) }}

),

responses as (

    select * from {{ ref('int_responses_matched') }}
    where {{ rebuilt_after(since) }}

),

case_posts as (

    -- only the cases in scope: lets the engine skip the other cases' posts
    -- before it joins them with their signals
    select * from {{ ref('int_case_posts_collected') }}
    where {{ rebuilt_after(since) }}
        and case_id in (select case_id from cases)

),

signals as (

    select * from {{ ref('int_posts_classified') }}

),

brand_posts as (

    select
        responses.case_id,
        responses.platform,
        responses.post_id,
        responses.responded_at as occurred_at,
        responses.is_first_response,
        signals.asks_private_channel,
        signals.mentions_technician

    from responses
    inner join signals
        on responses.platform = signals.platform
        and responses.post_id = signals.post_id

),

customer_posts as (

    select
        case_posts.case_id,
        case_posts.platform,
        case_posts.post_id,
        case_posts.created_at as occurred_at,
        signals.mentions_technician,
        signals.says_resolved,
        signals.says_unresolved

    from case_posts
    inner join cases
        on case_posts.case_id = cases.case_id
    inner join signals
        on case_posts.platform = signals.platform
        and case_posts.post_id = signals.post_id
    where case_posts.created_at > cases.first_response_at

),

events as (

    select case_id, platform, post_id, occurred_at, 'moved_to_private' as event_type
    from brand_posts where asks_private_channel
    union all
    select case_id, platform, post_id, occurred_at, 'technician' as event_type
    from brand_posts where mentions_technician
    union all
    select case_id, platform, post_id, occurred_at, 'brand_follow_up' as event_type
    from brand_posts where not is_first_response
    union all
    select case_id, platform, post_id, occurred_at, 'customer_reply' as event_type
    from customer_posts
    union all
    select case_id, platform, post_id, occurred_at, 'technician' as event_type
    from customer_posts where mentions_technician
    union all
    -- "still not working" wins over a polite "danke" in the same post
    select case_id, platform, post_id, occurred_at, 'still_unresolved' as event_type
    from customer_posts where says_unresolved
    union all
    select case_id, platform, post_id, occurred_at, 'resolved_confirmation' as event_type
    from customer_posts where says_resolved and not says_unresolved

),

timed as (

    select
        events.case_id || ':' || events.post_id || ':' || events.event_type as follow_up_id,
        events.case_id,
        events.platform,
        events.post_id,
        events.event_type,
        events.occurred_at,
        {{ us_to_minutes(microseconds_between('cases.opened_at', 'events.occurred_at')) }} as minutes_since_open,
        {{ case_build_columns() }}

    from events
    inner join cases
        on events.case_id = cases.case_id

)

select * from timed
