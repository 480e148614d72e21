-- A case is the first mention of a brand by a customer in a conversation.
--
-- Incremental by conversation (macros/conversation_scope.sql): a run recomputes
-- the conversations re-threaded since its last run.
-- depends_on: {{ ref('int_posts_threaded') }}
{%- set since = conversation_scope_since() %}
{{ config(
    materialized='incremental',
    incremental_strategy='forget_and_append',
    on_schema_change='sync_all_columns',
    forget_by='opening_post_id'
) }}
with

mentions as (

    select * from {{ ref('int_mentions_detected') }}

),

posts as (

    -- author, key and time as loaded (staging, not int_posts_authored, which
    -- leaves the customer key out)
    select * from {{ ref('stg_social__posts') }}

),

threads as (

    select * from {{ ref('int_posts_threaded') }}
    where {{ rebuilt_after(since) }}

),

brands as (

    select * from {{ ref('stg_config__brands') }}

),

mention_posts as (

    select
        mentions.platform,
        mentions.post_id,
        mentions.brand_key,
        mentions.origin,
        threads.conversation_root_post_id,
        posts.author_handle,
        posts.author_key,
        posts.created_at,
        row_number() over (
            partition by
                mentions.platform,
                threads.conversation_root_post_id,
                posts.author_handle,
                mentions.brand_key
            order by posts.created_at, posts.post_id
        ) as mention_rank

    from mentions
    inner join posts
        on mentions.platform = posts.platform
        and mentions.post_id = posts.post_id
    inner join threads
        on mentions.platform = threads.platform
        and mentions.post_id = threads.post_id

),

cases as (

    select
        mention_posts.platform || ':' || mention_posts.post_id || ':' || mention_posts.brand_key
            as case_id,
        mention_posts.platform,
        mention_posts.brand_key,
        mention_posts.post_id as opening_post_id,
        mention_posts.conversation_root_post_id,
        mention_posts.author_handle as customer_handle,
        mention_posts.author_key as customer_key,
        mention_posts.created_at as opened_at,
        {{ local_timestamp_via('mention_posts.created_at', 'brands.timezone', 'opened_offset') }}
            as opened_at_local,
        mention_posts.origin,
        {{ case_build_columns() }}

    from mention_posts
    inner join brands
        on mention_posts.brand_key = brands.brand_key
    {{ join_utc_offset('opened_offset', 'mention_posts.brand_key', 'mention_posts.created_at') }}
    where mention_posts.mention_rank = 1

)

select * from cases
