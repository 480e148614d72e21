{#-
    Daily marts built incrementally by day (share_of_voice_daily): a run
    recomputes the days, in the own brand's time zone, of the posts
    `int_posts_authored` rebuilt after the model's own watermark (new posts and
    reloads, whatever they mention), deleting those days' rows first. The
    watermark, the configuration hash and the incremental strategy are the case
    models' (see conversation_scope.sql): a configuration change rebuilds every day.
-#}

{# The own brand's local days of the posts rebuilt after `since`. #}
{% macro days_of_posts_rebuilt_since(since) -%}
    select distinct
        cast({{ local_timestamp_via('rebuilt.created_at', 'own_brand.timezone', 'own_offset') }} as date)
            as day
    from {{ ref('int_posts_authored') }} as rebuilt
    cross join (
        select brand_key, timezone from {{ ref('stg_config__brands') }} where is_own_brand
    ) as own_brand
    {{ join_utc_offset('own_offset', 'own_brand.brand_key', 'rebuilt.created_at') }}
    where rebuilt.built_at > {{ since }}
{%- endmacro %}

{#
    The earliest instant a post on one of those days can have: a local day spans
    at most 25 hours around its posts, so two days before the earliest rebuilt
    post is safe. Lets the model skip the older history cheaply.
#}
{% macro earliest_post_of_days_rebuilt_since(since) -%}
    (select min(created_at) - interval 2 day from {{ ref('int_posts_authored') }}
     where built_at > {{ since }})
{%- endmacro %}

{# Delete the rows of the days the run recomputes (all rows on a rebuild). #}
{% macro forget_rebuilt_days() -%}
    {%- set since = conversation_scope_since() -%}
    delete from {{ this }}
    {%- if since is not none %}
    where day in ({{ days_of_posts_rebuilt_since(since) }})
    {%- endif %}
{%- endmacro %}
