-- Which case a support reply answers: walk up from the reply to the nearest
-- customer post; the reply answers that customer's case for the replying
-- account's brand in that conversation, if the case was open by then.
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

posts as (

    select * from {{ ref('int_posts_authored') }}

),

threads as (

    select * from {{ ref('int_posts_threaded') }}
    where {{ rebuilt_after(since) }}

),

cases as (

    select * from {{ ref('int_cases_opened') }}
    where {{ rebuilt_after(since) }}

),

brands as (

    select * from {{ ref('stg_config__brands') }}

),

support_replies as (

    select
        posts.platform,
        posts.post_id,
        posts.author_handle as account,
        posts.author_brand_key as brand_key,
        posts.created_at as responded_at,
        threads.conversation_root_post_id,
        threads.customer_ancestor_post_id

    from posts
    inner join threads
        on posts.platform = threads.platform
        and posts.post_id = threads.post_id
    where posts.author_role = 'support'
        and threads.customer_ancestor_post_id is not null

),

matched as (

    select
        support_replies.post_id,
        cases.case_id,
        support_replies.platform,
        support_replies.conversation_root_post_id,
        support_replies.brand_key,
        support_replies.account,
        support_replies.responded_at,
        {{ local_timestamp_via('support_replies.responded_at', 'brands.timezone', 'responded_offset') }}
            as responded_at_local,
        cases.opened_at,
        cases.opened_at_local,
        row_number() over (
            partition by cases.case_id
            order by support_replies.responded_at, support_replies.post_id
        ) = 1 as is_first_response,
        {{ case_build_columns() }}

    from support_replies
    inner join posts as customer_post
        on support_replies.platform = customer_post.platform
        and support_replies.customer_ancestor_post_id = customer_post.post_id
    inner join cases
        on support_replies.platform = cases.platform
        and support_replies.conversation_root_post_id = cases.conversation_root_post_id
        and support_replies.brand_key = cases.brand_key
        and customer_post.author_handle = cases.customer_handle
    inner join brands
        on cases.brand_key = brands.brand_key
    {{ join_utc_offset('responded_offset', 'cases.brand_key', 'support_replies.responded_at') }}
    where support_replies.responded_at >= cases.opened_at

)

select * from matched
