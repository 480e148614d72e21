-- Mentions and complaints per brand per day, and each brand's share of the
-- day's mentions. Days follow the own brand's time zone so that every brand is
-- counted on the same calendar.
--
-- Incremental by day (macros/day_scope.sql): a run recomputes the days of the
-- posts loaded since its last run, every brand of those days (the share is
-- per day), and leaves the other days as they are.
-- depends_on: {{ ref('int_posts_authored') }}
{{ config(
    materialized='incremental',
    incremental_strategy='forget_and_append',
    forget_by='day'
) }}
{%- set since = conversation_scope_since() %}

with

mentions as (

    select * from {{ ref('int_mentions_detected') }}

),

posts as (

    select * from {{ ref('int_posts_authored') }}
    {%- if since is not none %}
    where created_at >= {{ earliest_post_of_days_rebuilt_since(since) }}
    {%- endif %}

),

signals as (

    select * from {{ ref('int_posts_classified') }}

),

own_brand as (

    select brand_key, timezone from {{ ref('stg_config__brands') }}
    where is_own_brand

),

dated as (

    select
        mentions.brand_key as brand,
        cast({{ local_timestamp_via('posts.created_at', 'own_brand.timezone', 'own_offset') }} as date)
            as day,
        mentions.origin,
        signals.is_complaint

    from mentions
    cross join own_brand
    inner join posts
        on mentions.platform = posts.platform
        and mentions.post_id = posts.post_id
    inner join signals
        on mentions.platform = signals.platform
        and mentions.post_id = signals.post_id
    {{ join_utc_offset('own_offset', 'own_brand.brand_key', 'posts.created_at') }}

),

daily as (

    select
        brand,
        day,
        count(*) as mentions,
        count(case when is_complaint then 1 end) as complaints,
        count(case when origin = 'unaddressed' then 1 end) as unaddressed_mentions

    from dated
    {%- if since is not none %}
    where day in ({{ days_of_posts_rebuilt_since(since) }})
    {%- endif %}
    group by brand, day

),

shared as (

    select
        *,
        mentions * 1.0 / sum(mentions) over (partition by day) as share_of_mentions,
        {{ case_build_columns() }}

    from daily

)

select * from shared
