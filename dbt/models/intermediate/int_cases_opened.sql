-- A case is the first mention of a brand by a customer in a conversation.
with

mentions as (

    select * from {{ ref('int_mentions_detected') }}

),

posts as (

    select * from {{ ref('int_posts_authored') }}

),

threads as (

    select * from {{ ref('int_posts_threaded') }}

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
        platform || ':' || post_id || ':' || brand_key as case_id,
        platform,
        brand_key,
        post_id as opening_post_id,
        conversation_root_post_id,
        author_handle as customer_handle,
        author_key as customer_key,
        created_at as opened_at,
        origin

    from mention_posts
    where mention_rank = 1

)

select * from cases
