{#-
    The text classifier as SQL: one regular expression per signal, assembled at
    compile time from the `post_lexicon` seed (the care team edits the seed, not
    code). Constant patterns let the engine compile each regex once.
-#}

{% macro lexicon_patterns() %}
    {#- signal -> {"ci": [patterns], "cs": [patterns]} read from the seed -#}
    {% set patterns = {} %}
    {% if execute %}
        {% set rows = run_query("select signal, case_sensitive, pattern from " ~ ref('post_lexicon')) %}
        {% for row in rows %}
            {% set kind = 'cs' if row[1] else 'ci' %}
            {% if row[0] not in patterns %}{% do patterns.update({row[0]: {'ci': [], 'cs': [], 'all': []}}) %}{% endif %}
            {% do patterns[row[0]][kind].append(row[2]) %}
            {% do patterns[row[0]]['all'].append(row[2]) %}
        {% endfor %}
    {% endif %}
    {{ return(patterns) }}
{% endmacro %}

{% macro sql_string(value) -%}
    '{{ value | replace("'", "''") }}'
{%- endmacro %}

{% macro signal_matches(patterns, signal, text) -%}
    {%- set entry = patterns.get(signal, {'ci': [], 'cs': []}) -%}
    {%- set tests = [] -%}
    {%- if entry['ci'] -%}
        {%- do tests.append(regex_matches_ci(text, sql_string('(?:' ~ entry['ci'] | join(')|(?:') ~ ')'))) -%}
    {%- endif -%}
    {%- if entry['cs'] -%}
        {%- do tests.append(regex_matches_cs(text, sql_string('(?:' ~ entry['cs'] | join(')|(?:') ~ ')'))) -%}
    {%- endif -%}
    {%- if tests -%}({{ tests | join(' or ') }}){%- else -%}false{%- endif -%}
{%- endmacro %}

{% macro post_classification(text, source_language='null') %}
    {%- set p = lexicon_patterns() -%}
    {%- set topics = ['technician', 'tv', 'email', 'billing', 'mobile', 'fixed_line', 'shop_hotline'] -%}
        case
            when {{ signal_matches(p, 'complaint', text) }} then 'complaint'
            when {{ signal_matches(p, 'question', text) }} then 'question'
            when {{ signal_matches(p, 'praise', text) }} then 'praise'
            else 'other'
        end as case_kind,
        {{ signal_matches(p, 'complaint', text) }} as is_complaint,
        case
        {%- for topic in topics %}
            when {{ signal_matches(p, 'topic_' ~ topic, text) }} then '{{ topic }}'
        {%- endfor %}
            else 'other'
        end as topic,
        case
            when {{ source_language }} in ('de', 'en') then {{ source_language }}
            when {{ signal_matches(p, 'lang_de', text) }} then 'de'
            when {{ signal_matches(p, 'lang_en', text) }} then 'en'
            else 'other'
        end as language,
        {{ signal_matches(p, 'private_channel', text) }} as asks_private_channel,
        {{ signal_matches(p, 'technician', text) }} as mentions_technician,
        {{ signal_matches(p, 'resolved', text) }} as says_resolved,
        {{ signal_matches(p, 'unresolved', text) }} as says_unresolved,
        case
            when {{ signal_matches(p, 'formal', text) }} then 'formal'
            when {{ signal_matches(p, 'informal', text) }} then 'informal'
            else 'none'
        end as address_form,
        {%- set sigs = p.get('agent_signature', {'all': []})['all'] %}
        {%- if sigs %}
        coalesce(
            {%- for pattern in sigs %}
            {{ regex_capture(text, sql_string(pattern)) }}{{ ',' if not loop.last }}
            {%- endfor %}
        ) as agent
        {%- else %}
        cast(null as varchar) as agent
        {%- endif %}
{% endmacro %}
