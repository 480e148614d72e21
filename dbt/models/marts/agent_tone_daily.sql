-- Tone consistency and reply style per agent and day: does an agent mix "Sie"
-- and "du", how much small talk and how many smileys.
with

responses as (

    select * from {{ ref('fct_responses') }}

),

daily as (

    select
        brand,
        responded_day,
        coalesce(agent, '(unsigned)') as agent,
        count(*) as responses,
        count(case when address_form = 'formal' then 1 end) as formal_responses,
        count(case when address_form = 'informal' then 1 end) as informal_responses,
        count(case when address_form = 'formal' then 1 end) > 0
            and count(case when address_form = 'informal' then 1 end) > 0
            as mixes_address_forms,
        avg(case when uses_emoji then 1.0 else 0.0 end) as emoji_share,
        avg(case when has_small_talk then 1.0 else 0.0 end) as small_talk_share,
        avg(reply_length * 1.0) as avg_reply_length

    from responses
    group by brand, responded_day, coalesce(agent, '(unsigned)')

)

select * from daily
