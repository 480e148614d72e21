-- Conversations from reply links: every post gets the root of its tree and the
-- nearest customer post above it (the post a brand reply answers). Walking the
-- tree top-down carries both in one pass instead of one walk per brand reply.
--
-- Incremental: a run re-walks only the trees that posts changed since its last
-- run belong to (found through their stored parents), plus the new posts; a walk
-- starts at a tree's root, or below a stored post whose tree did not change.
{{ config(
    materialized='incremental',
    unique_key=['platform', 'post_id'],
    incremental_strategy='delete+insert',
    on_schema_change='sync_all_columns'
) }}

{%- set only_changed = is_incremental() and this_has_column('built_at') %}

with recursive

{%- if only_changed %}

changed as (

    -- the posts rebuilt upstream since this model's last run (appended last, so
    -- the stamp's zone maps skip the older row groups)
    select platform, post_id, parent_post_id
    from {{ ref('int_posts_authored') }}
    where built_at > {{ watermark() }}

),

changed_keys as (

    -- the changed posts and their parents: their stored rows name the trees a
    -- changed post joins or already was in
    select platform, post_id from changed

    union

    select platform, parent_post_id from changed where parent_post_id is not null

),

touched_roots as (

    select distinct stored.platform, stored.conversation_root_post_id
    from {{ this }} as stored
    inner join changed_keys
        on stored.platform = changed_keys.platform
        and stored.post_id = changed_keys.post_id

),

scope as (

    select platform, post_id from changed

    union

    select stored.platform, stored.post_id
    from {{ this }} as stored
    inner join touched_roots
        on stored.platform = touched_roots.platform
        and stored.conversation_root_post_id = touched_roots.conversation_root_post_id

),

posts as (

    select
        authored.platform,
        authored.post_id,
        authored.parent_post_id,
        authored.parent_in_data,
        authored.is_customer_post

    from {{ ref('int_posts_authored') }} as authored
    inner join scope
        on authored.platform = scope.platform
        and authored.post_id = scope.post_id

),

orphans as (

    -- posts whose parent is in the data but not in the re-walked trees; whole
    -- trees are re-walked, so this is rare (a parent that was never threaded)
    select posts.platform, posts.post_id, posts.parent_post_id
    from posts
    left join posts as walked_parent
        on posts.platform = walked_parent.platform
        and posts.parent_post_id = walked_parent.post_id
    where posts.parent_in_data and walked_parent.post_id is null

),

{%- else %}

posts as (

    select platform, post_id, parent_post_id, parent_in_data, is_customer_post
    from {{ ref('int_posts_authored') }}

),

{%- endif %}

starts as (

    -- roots: posts whose parent is not in the data
    select
        platform,
        post_id,
        post_id as conversation_root_post_id,
        0 as reply_depth,
        cast(null as varchar) as customer_ancestor_post_id

    from posts
    where not parent_in_data
    {%- if only_changed %}

    union all

    -- orphans continue from their parent's stored row, which this run does not
    -- change (an orphan whose parent has no stored row is left out)
    select
        orphans.platform,
        orphans.post_id,
        stored_parent.conversation_root_post_id,
        stored_parent.reply_depth + 1 as reply_depth,
        case
            when parent_post.is_customer_post then parent_post.post_id
            else stored_parent.customer_ancestor_post_id
        end as customer_ancestor_post_id

    from orphans
    inner join {{ this }} as stored_parent
        on orphans.platform = stored_parent.platform
        and orphans.parent_post_id = stored_parent.post_id
    left join {{ ref('int_posts_authored') }} as parent_post
        on orphans.platform = parent_post.platform
        and orphans.parent_post_id = parent_post.post_id
    {%- endif %}

),

tree as (

    select
        starts.platform,
        starts.post_id,
        starts.conversation_root_post_id,
        starts.reply_depth,
        starts.customer_ancestor_post_id,
        case
            when posts.is_customer_post then posts.post_id
            else starts.customer_ancestor_post_id
        end as nearest_customer_post_id

    from starts
    inner join posts
        on starts.platform = posts.platform
        and starts.post_id = posts.post_id

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
    customer_ancestor_post_id,
    {{ build_stamp() }} as built_at

from tree
