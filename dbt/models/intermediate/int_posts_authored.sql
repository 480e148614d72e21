-- Each post with its author's brand role (if any) and its parent's author:
-- the facts that decide "customer post", "brand reply" and "replies to a brand".
with

posts as (

    select * from {{ ref('stg_social__posts') }}

),

accounts as (

    select * from {{ ref('stg_config__brand_accounts') }}

),

authored as (

    -- ids and authorship only: the text stays in staging, read where it is needed,
    -- so this table (one row per post) does not copy every post's text again
    select
        posts.platform,
        posts.post_id,
        posts.parent_post_id,
        posts.author_handle,
        posts.author_key,
        posts.created_at,
        accounts.brand_key as author_brand_key,
        accounts.account_role as author_role,
        accounts.account_handle is null as is_customer_post

    from posts
    left join accounts
        on posts.author_handle = accounts.account_handle

),

with_parent as (

    select
        authored.*,
        parent.post_id is not null as parent_in_data,
        parent_accounts.brand_key as parent_author_brand_key

    from authored
    left join posts as parent
        on authored.platform = parent.platform
        and authored.parent_post_id = parent.post_id
    left join accounts as parent_accounts
        on parent.author_handle = parent_accounts.account_handle

)

select * from with_parent
