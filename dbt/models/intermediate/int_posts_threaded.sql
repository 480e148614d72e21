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

authored as (

    select
        platform,
        post_id,
        parent_post_id,
        parent_in_data,
        is_customer_post,
        built_at

    from {{ ref('int_posts_authored') }}

),

{%- if only_changed %}

changed as (

    select * from authored
    where built_at > {{ watermark() }}

),

touched_roots as (

    -- the stored trees a changed post joins (through its parent) or already was in
    select stored.platform, stored.conversation_root_post_id
    from changed
    inner join {{ this }} as stored
        on changed.platform = stored.platform
        and changed.parent_post_id = stored.post_id

    union

    select stored.platform, stored.conversation_root_post_id
    from changed
    inner join {{ this }} as stored
        on changed.platform = stored.platform
        and changed.post_id = stored.post_id

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

    select authored.*
    from authored
    inner join scope
        on authored.platform = scope.platform
        and authored.post_id = scope.post_id

),

starts as (

    -- roots, and posts whose parent is outside the re-walked trees: those
    -- continue from the parent's stored row, which this run does not change
    select
        posts.platform,
        posts.post_id,
        case
            when posts.parent_in_data then stored_parent.conversation_root_post_id
            else posts.post_id
        end as conversation_root_post_id,
        case when posts.parent_in_data then stored_parent.reply_depth + 1 else 0 end
            as reply_depth,
        case
            when not posts.parent_in_data then cast(null as varchar)
            when parent_post.is_customer_post then parent_post.post_id
            else stored_parent.customer_ancestor_post_id
        end as customer_ancestor_post_id

    from posts
    left join posts as walked_parent
        on posts.platform = walked_parent.platform
        and posts.parent_post_id = walked_parent.post_id
    left join {{ this }} as stored_parent
        on posts.platform = stored_parent.platform
        and posts.parent_post_id = stored_parent.post_id
    left join authored as parent_post
        on posts.platform = parent_post.platform
        and posts.parent_post_id = parent_post.post_id
    where walked_parent.post_id is null
        and (not posts.parent_in_data or stored_parent.post_id is not null)

),

{%- else %}

posts as (

    select * from authored

),

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

),

{%- endif %}

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
