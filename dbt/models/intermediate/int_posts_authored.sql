-- Each post with its author's brand role (if any) and its parent's author:
-- the facts that decide "customer post", "brand reply" and "replies to a brand".
--
-- Incremental: a run takes the posts of loads newer than the newest it has seen,
-- plus the replies to them (a late parent changes its replies' parent facts).
-- A change to the brand accounts rebuilds every row.
{{ config(
    materialized='incremental',
    unique_key=['platform', 'post_id'],
    incremental_strategy='delete+insert',
    on_schema_change='sync_all_columns'
) }}

{%- set accounts_version = relation_version(ref('stg_config__brand_accounts')) %}
{%- set only_new = is_incremental() and not version_changed(accounts_version, 'accounts_version') %}

-- The posts are read from staging where needed rather than through one shared
-- CTE: DuckDB materialises a CTE read twice, and at millions of posts that copy
-- (ids, keys, times) outgrew the memory limit and spilled.
with

accounts as (

    select * from {{ ref('stg_config__brand_accounts') }}

),

{%- if only_new %}

new_posts as (

    select platform, post_id
    from {{ ref('stg_social__posts') }}
    where load_id > {{ load_watermark() }}

),

scope as (

    select platform, post_id from new_posts

    union

    -- the replies to them
    select replies.platform, replies.post_id
    from {{ ref('stg_social__posts') }} as replies
    inner join new_posts
        on replies.platform = new_posts.platform
        and replies.parent_post_id = new_posts.post_id

),

scoped_posts as (

    select posts.*
    from {{ ref('stg_social__posts') }} as posts
    inner join scope
        on posts.platform = scope.platform
        and posts.post_id = scope.post_id

),

{%- else %}

scoped_posts as (

    select * from {{ ref('stg_social__posts') }}

),

{%- endif %}

authored as (

    -- ids and authorship only: the text and the customer key (64 characters,
    -- a third of this table's cost to write) stay in staging, read where needed
    select
        scoped_posts.platform,
        scoped_posts.post_id,
        scoped_posts.parent_post_id,
        scoped_posts.author_handle,
        scoped_posts.created_at,
        scoped_posts.load_id,
        accounts.brand_key as author_brand_key,
        accounts.account_role as author_role,
        accounts.account_handle is null as is_customer_post

    from scoped_posts
    left join accounts
        on scoped_posts.author_handle = accounts.account_handle

),

with_parent as (

    select
        authored.*,
        parent.post_id is not null as parent_in_data,
        parent_accounts.brand_key as parent_author_brand_key,
        '{{ accounts_version }}' as accounts_version,
        {{ build_stamp() }} as built_at

    from authored
    left join {{ ref('stg_social__posts') }} as parent
        on authored.platform = parent.platform
        and authored.parent_post_id = parent.post_id
    left join accounts as parent_accounts
        on parent.author_handle = parent_accounts.account_handle

)

select * from with_parent
