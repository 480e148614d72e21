-- One row per case: what the customer raised, when, how the brand answered and
-- what followed. Everything of fct_complaints that does not depend on "as of"
-- (the SLA status of unanswered cases and their age are added there), so the
-- rows stay valid from one run to the next.
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

    select * from {{ ref('int_cases_responded') }}
    where {{ rebuilt_after(since) }}

),

brands as (

    select * from {{ ref('stg_config__brands') }}

),

follow_ups as (

    select * from {{ ref('int_follow_ups_detected') }}
    where {{ rebuilt_after(since) }}

),

case_outcomes as (

    select
        case_id,
        bool_or(event_type = 'moved_to_private') as moved_to_private,
        bool_or(event_type = 'customer_reply') as recontacted,
        min(case when event_type = 'moved_to_private' then occurred_at end) as moved_to_private_at,
        max(case when event_type = 'still_unresolved' then occurred_at end) as last_unresolved_at,
        max(case when event_type = 'resolved_confirmation' then occurred_at end) as last_resolved_at

    from follow_ups
    {%- if since is not none %}
    where case_id in (select case_id from cases)
    {%- endif %}
    group by case_id

),

case_replies as (

    -- the replies answering each case and their address form (sla_daily and
    -- sla_overall add these up instead of regrouping fct_responses every run)
    select
        responses.case_id,
        count(*) as responses,
        count(case when reply_signals.address_form = 'formal' then 1 end) as formal_responses,
        count(case when reply_signals.address_form = 'informal' then 1 end) as informal_responses

    from {{ ref('int_responses_matched') }} as responses
    inner join {{ ref('int_posts_classified') }} as reply_signals
        on responses.platform = reply_signals.platform
        and responses.post_id = reply_signals.post_id
    where {{ rebuilt_after(since, 'responses.built_at') }}
    group by responses.case_id

),

final as (

    select
        -- ids
        cases.case_id,
        cases.platform,
        cases.conversation_root_post_id,
        cases.brand_key as brand,
        brands.brand_name,
        cases.opening_post_id,
        cases.customer_key,

        -- what was raised
        cases.opened_at,
        cast(cases.opened_at_local as date) as opened_day,
        {{ iso_weekday('cases.opened_at_local') }} as opened_local_weekday,
        cast(extract(hour from cases.opened_at_local) as integer) as opened_local_hour,
        cases.origin,
        opening_signals.case_kind,
        opening_signals.is_complaint,
        opening_signals.topic,
        opening_signals.language,

        -- first response
        cases.first_response_at,
        cases.first_response_post_id,
        cases.first_response_minutes,
        cases.first_response_business_minutes,
        cases.opened_at_local,
        coalesce(
            cases.first_response_minutes <= cases.response_window_days * 1440, false
        ) as answered_within_window,
        cases.sla_target_minutes,

        -- weekend
        {{ iso_weekday('cases.opened_at_local') }} >= 6 as opened_on_weekend,
        case
            when {{ iso_weekday('cases.opened_at_local') }} >= 6 then coalesce(
                cases.first_response_at < {{ from_local_timestamp(
                    "cast(cast(cases.opened_at_local as date) + (8 - " ~ iso_weekday('cases.opened_at_local') ~ ") as timestamp)",
                    'cases.timezone') }},
                false
            )
        end as answered_before_monday,

        -- follow-ups
        coalesce(case_outcomes.moved_to_private, false) as moved_to_private,
        coalesce(case_outcomes.recontacted, false) as recontacted,
        coalesce(
            case_outcomes.last_resolved_at is not null
            and (
                case_outcomes.last_unresolved_at is null
                or case_outcomes.last_resolved_at > case_outcomes.last_unresolved_at
            ),
            false
        ) as resolved,
        coalesce(
            case_outcomes.last_unresolved_at > case_outcomes.moved_to_private_at, false
        ) as is_boomerang,

        -- replies
        coalesce(case_replies.responses, 0) as responses,
        coalesce(case_replies.formal_responses, 0) as formal_responses,
        coalesce(case_replies.informal_responses, 0) as informal_responses,

        -- backlog
        cases.first_response_at is null as is_unanswered,
        {{ case_build_columns() }}

    from cases
    inner join brands
        on cases.brand_key = brands.brand_key
    -- the classified posts are joined where they are used, not through one CTE:
    -- DuckDB materialises a CTE read twice, a copy of millions of posts
    inner join {{ ref('int_posts_classified') }} as opening_signals
        on cases.platform = opening_signals.platform
        and cases.opening_post_id = opening_signals.post_id
    left join case_outcomes
        on cases.case_id = case_outcomes.case_id
    left join case_replies
        on cases.case_id = case_replies.case_id

)

select * from final
