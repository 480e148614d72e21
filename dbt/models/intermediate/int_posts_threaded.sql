-- Conversations from reply links: every post gets the root of its tree and the
-- nearest customer post above it (the post a brand reply answers). Walking the
-- tree top-down carries both in one pass instead of one walk per brand reply.
with recursive

posts as (

    select
        platform,
        post_id,
        parent_post_id,
        parent_in_data,
        is_customer_post

    from {{ ref('int_posts_authored') }}

),

tree as (

    -- roots: posts whose parent is not in the data
    select
        platform,
        post_id,
        post_id as conversation_root_post_id,
        0 as reply_depth,
        cast(null as varchar) as customer_ancestor_post_id,
        case when is_customer_post then post_id end as nearest_customer_post_id

    from posts
    where not parent_in_data

    union all

    select
        child.platform,
        child.post_id,
        tree.conversation_root_post_id,
        tree.reply_depth + 1 as reply_depth,
        tree.nearest_customer_post_id as customer_ancestor_post_id,
        case
            when child.is_customer_post then child.post_id
            else tree.nearest_customer_post_id
        end as nearest_customer_post_id

    from tree
    inner join posts as child
        on tree.platform = child.platform
        and tree.post_id = child.parent_post_id

)

select
    platform,
    post_id,
    conversation_root_post_id,
    reply_depth,
    customer_ancestor_post_id

from tree
