-- Mentions and complaints per brand per day, and each brand's share of the
-- day's mentions. Days follow the own brand's time zone so that every brand is
-- counted on the same calendar.
with

mentions as (

    select * from {{ ref('int_mentions_detected') }}

),

posts as (

    select * from {{ ref('int_posts_authored') }}

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
    group by brand, day

),

shared as (

    select
        *,
        mentions * 1.0 / sum(mentions) over (partition by day) as share_of_mentions

    from daily

)

select * from shared
