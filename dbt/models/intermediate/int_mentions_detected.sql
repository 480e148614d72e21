-- Mentions: (customer post, brand) pairs. A post addresses a brand when it
-- @-mentions one of the brand's accounts or replies to a brand post; otherwise
-- it is an unaddressed mention when a watch term matches as a word and no
-- exclusion does (see DECISIONLOG: exclusions apply to watch-term matches only).
--
-- Incremental: a run looks at the posts `int_posts_authored` rebuilt since this
-- model's last run (their earlier mentions are deleted first, so a mention that
-- no longer holds goes away). A change to brands, accounts or terms rebuilds all.
-- depends_on: {{ ref('stg_config__brands') }}
-- depends_on: {{ ref('stg_config__brand_terms') }}
{%- set terms_version = mention_config_version() %}
{%- set only_new = is_incremental() and not version_changed(terms_version, 'terms_version') %}
{{ config(
    materialized='incremental',
    unique_key=['platform', 'post_id', 'brand_key'],
    incremental_strategy='delete+insert',
    on_schema_change='sync_all_columns',
    pre_hook="{{ forget_mentions_of_rebuilt_posts() }}"
) }}
{%- set watched = [] %}
{%- for brand in brand_term_patterns() if brand.watch %}
{%- do watched.append(brand) %}
{%- endfor %}
with

posts_read as (

    select
        authored.platform,
        authored.post_id,
        authored.parent_author_brand_key,
        staged.post_text,
        staged.mentioned_handles

    from {{ ref('int_posts_authored') }} as authored
    inner join {{ ref('stg_social__posts') }} as staged
        on authored.platform = staged.platform
        and authored.post_id = staged.post_id
    where authored.is_customer_post
    {%- if only_new %}
        and authored.built_at > {{ watermark() }}
    {%- endif %}

),

posts as (

    -- which brands' watch terms (and no exclusion) the text matches, one column a
    -- brand: the text is scanned here once for any brand's term, then per brand
    -- only where some term matched (most posts hold none)
    select
        platform,
        post_id,
        parent_author_brand_key,
        mentioned_handles
        {%- for brand in watched %},
        case when has_watch_term
            then {{ regex_matches_ci('post_text', sql_string(brand.watch)) }}
            {%- if brand.exclusion %}
                and not {{ regex_matches_ci('post_text', sql_string(brand.exclusion)) }}
            {%- endif %}
            else false
        end as matches_terms_{{ loop.index }}
        {%- endfor %}

    from (
        select
            *,
            {%- if watched %}
            {{ regex_matches_ci('post_text', sql_string('(?:' ~ watched | map(attribute='watch') | join(')|(?:') ~ ')')) }}
            {%- else %}
            false
            {%- endif %} as has_watch_term
        from posts_read
    ) as scanned

),

accounts as (

    select * from {{ ref('stg_config__brand_accounts') }}

),

handles as (

    select
        posts.platform,
        posts.post_id,
        mentioned.handle

    from posts,
        {{ unnest_list('posts.mentioned_handles') }} as mentioned(handle)

),

addressed_by_mention as (

    select distinct
        handles.platform,
        handles.post_id,
        accounts.brand_key

    from handles
    inner join accounts
        on handles.handle = accounts.account_handle

),

addressed_by_reply as (

    select
        platform,
        post_id,
        parent_author_brand_key as brand_key

    from posts
    where parent_author_brand_key is not null

),

matched_by_term as (

    {%- for brand in watched %}
    select
        platform,
        post_id,
        '{{ brand.brand_key }}' as brand_key

    from posts
    where matches_terms_{{ loop.index }}
    {{ 'union all' if not loop.last }}
    {%- endfor %}
    {%- if not watched %}
    select
        cast(null as varchar) as platform,
        cast(null as varchar) as post_id,
        cast(null as varchar) as brand_key
    where false
    {%- endif %}

),

all_matches as (

    select platform, post_id, brand_key, true as is_addressed from addressed_by_mention
    union all
    select platform, post_id, brand_key, true as is_addressed from addressed_by_reply
    union all
    select platform, post_id, brand_key, false as is_addressed from matched_by_term

),

mentions as (

    select
        platform,
        post_id,
        brand_key,
        case when bool_or(is_addressed) then 'addressed' else 'unaddressed' end as origin,
        '{{ terms_version }}' as terms_version,
        {{ build_stamp() }} as built_at

    from all_matches
    group by platform, post_id, brand_key

)

select * from mentions
