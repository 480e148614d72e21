-- The customer's own posts that belong to each case: the opening post and every
-- later post by the same customer in the same conversation.
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

    select * from {{ ref('int_cases_opened') }}
    where {{ rebuilt_after(since) }}

),

posts as (

    select * from {{ ref('int_posts_authored') }}
    where is_customer_post

),

threads as (

    select * from {{ ref('int_posts_threaded') }}
    where {{ rebuilt_after(since) }}

),

case_posts as (

    select
        cases.case_id,
        posts.platform,
        posts.post_id,
        posts.created_at,
        posts.post_id = cases.opening_post_id as is_opening_post,
        {{ case_build_columns() }}

    from cases
    inner join threads
        on cases.platform = threads.platform
        and cases.conversation_root_post_id = threads.conversation_root_post_id
    inner join posts
        on threads.platform = posts.platform
        and threads.post_id = posts.post_id
        and cases.customer_handle = posts.author_handle
    where posts.created_at >= cases.opened_at

)

select * from case_posts
