{#-
    Watch-term and exclusion regexes per brand, built at compile time from the
    configuration tables (written from carewatch.yml before every build), so a
    post is matched against constant patterns. A term matches as a whole word,
    case-insensitive; "#Term" matches too because "#" is not a word character.
-#}

{% macro word_pattern(fragments) -%}
    {{- '(?:^|[^\\pL\\pN_])(?:' ~ fragments | join('|') ~ ')(?:$|[^\\pL\\pN_])' -}}
{%- endmacro %}

{% macro brand_term_patterns() %}
    {#- [{brand_key, watch, exclusion}] with regex strings or none -#}
    {% set brands = [] %}
    {% if execute %}
        {% set rows = run_query(
            "select b.brand_key, t.term_kind, t.term_pattern from " ~ ref('stg_config__brands') ~ " as b"
            ~ " left join " ~ ref('stg_config__brand_terms') ~ " as t on b.brand_key = t.brand_key"
            ~ " order by b.brand_key, t.term_kind, t.term"
        ) %}
        {% set by_brand = {} %}
        {% for row in rows %}
            {% if row[0] not in by_brand %}
                {% do by_brand.update({row[0]: {'watch': [], 'exclusion': []}}) %}
                {% do brands.append(row[0]) %}
            {% endif %}
            {% if row[1] %}{% do by_brand[row[0]][row[1]].append(row[2]) %}{% endif %}
        {% endfor %}
        {% set result = [] %}
        {% for key in brands %}
            {% do result.append({
                'brand_key': key,
                'watch': word_pattern(by_brand[key]['watch']) if by_brand[key]['watch'] else none,
                'exclusion': word_pattern(by_brand[key]['exclusion']) if by_brand[key]['exclusion'] else none,
            }) %}
        {% endfor %}
        {{ return(result) }}
    {% endif %}
    {{ return([]) }}
{% endmacro %}

{# A hash of everything mentions depend on besides the posts (brands, accounts, terms). #}
{% macro mention_config_version() -%}
    {{ return(relations_version([
        ref('stg_config__brands'),
        ref('stg_config__brand_terms'),
        ref('stg_config__brand_accounts'),
    ])) }}
{%- endmacro %}

{#
    Pre-hook of int_mentions_detected: before an incremental run, drop the rows of
    the posts it is about to look at again (so a mention that no longer holds goes
    away), or every row when the brand configuration changed.
#}
{% macro forget_mentions_of_rebuilt_posts() -%}
    {%- if is_incremental() and version_changed(mention_config_version(), 'terms_version') -%}
        delete from {{ this }}
    {%- elif is_incremental() -%}
        delete from {{ this }}
        where (platform, post_id) in (
            select platform, post_id from {{ ref('int_posts_authored') }}
            where built_at > {{ watermark() }}
        )
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
