-- One row per case: what the customer raised, when, how the brand answered and
-- what followed: the case with its first response (int_cases_responded), its
-- opening signals, weekend coverage, follow-up outcomes and reply counts, and the
-- SLA status. Only the status of an unanswered case depends on the run's "as of"
-- (breached once older than the target in business time, else pending). The
-- case rows are written once, here: a separate intermediate copy of every case
-- cost about 3 s at 5M posts (see DECISIONLOG).
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

cases_responded as (

    select * from {{ ref('int_cases_responded') }}
    where {{ rebuilt_after(since) }}
    {%- if since is not none %}
        -- the stored cases the clock may change (the strategy forgets the same rows)
        or case_id in (select case_id from {{ this }} where {{ config.get('forget_also') }})
    {%- endif %}

),

brands as (

    select * from {{ ref('stg_config__brands') }}

),

follow_ups as (

    select * from {{ ref('int_follow_ups_detected') }}
    {%- if since is not none %}
    where case_id in (select case_id from cases_responded)
    {%- endif %}

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
    {%- if since is not none %}
    where responses.case_id in (select case_id from cases_responded)
    {%- endif %}
    group by responses.case_id

),

cases as (

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

    from cases_responded as cases
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
