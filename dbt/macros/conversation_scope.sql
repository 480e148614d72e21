{#-
    The case models (cases, their posts, responses, follow-ups and the marts built
    on them) only ever look inside one conversation: a case, the replies that
    answer it and its follow-ups all share a conversation root. So the
    every-15-minutes run recomputes just the conversations `int_posts_threaded`
    re-walked since the model's own last run (new posts, late replies to old
    cases, late parents that merged two trees), deletes those conversations'
    stored rows first and appends the new ones. A change to the configuration
    the cases depend on (brands, accounts, terms, hours, holidays, the lexicon)
    rebuilds everything instead.

    Each model holds its own watermark (its newest `built_at`), read once at
    compile time, so the delete (a pre-hook) and the insert cover exactly the
    same conversations, and a run that failed half-way leaves the later models'
    watermarks behind: their next run picks the missed conversations up.
-#}

{#
    Everything the case models depend on besides the posts, as one hash. The
    refs come first and unconditionally, so every case model depends on them at
    parse time ('' in unit tests, whose refs are fixtures).
#}
{% macro case_config_version() -%}
    {%- if model.resource_type == 'unit_test' -%}
        {{ return('') }}
    {%- endif -%}
    {%- set relations = [
        ref('stg_config__brands'),
        ref('stg_config__brand_accounts'),
        ref('stg_config__brand_terms'),
        ref('stg_config__service_hours'),
        ref('stg_config__holidays'),
        ref('post_lexicon'),
        ref('post_topics'),
    ] -%}
    {{ return(relations_version(relations)) }}
{%- endmacro %}

{#
    The watermark an incremental run of a case model starts from (a SQL
    timestamp literal), or none when the run must rebuild everything: first
    build, full refresh, an empty table, a table from before this scheme, or a
    configuration change.
#}
{% macro conversation_scope_since() -%}
    {%- set version = case_config_version() -%}
    {%- if execute and is_incremental() and not version_changed(version, 'config_version') -%}
        {%- set newest = run_query(
            "select cast(max(built_at) as varchar) from " ~ this
        ).columns[0].values()[0] -%}
        {%- if newest is not none -%}
            {{ return("cast('" ~ newest ~ "' as timestamp)") }}
        {%- endif -%}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{# Conversations (platform, root) whose posts were threaded again after `since`. #}
{% macro changed_conversations(since) -%}
    select distinct platform, conversation_root_post_id
    from {{ ref('int_posts_threaded') }}
    where built_at > {{ since }}
{%- endmacro %}

{# A predicate: the row's conversation is one of them (true on a full build). #}
{% macro in_changed_conversations(since, platform='platform', root='conversation_root_post_id') -%}
    {%- if since is none -%}
        true
    {%- else -%}
        ({{ platform }}, {{ root }}) in ({{ changed_conversations(since) }})
    {%- endif -%}
{%- endmacro %}

{#
    Pre-hook of the case models: drop the stored rows of the conversations the
    run recomputes (rows are found through a post of theirs, `post_column`, so a
    conversation that merged into another one goes too), or every row when the
    run rebuilds everything.
#}
{% macro forget_changed_conversations(post_column) -%}
    {%- if is_incremental() -%}
        {%- set since = conversation_scope_since() -%}
        {{ add_build_stamp_columns() }}
        delete from {{ this }}
        {%- if since is not none %}
        where (platform, {{ post_column }}) in (
            select platform, post_id from {{ ref('int_posts_threaded') }}
            where {{ in_changed_conversations(since) }}
        )
        {%- endif %}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#
    A table from before the build stamps gets their columns before the pre-hook
    deletes from it (its run then rebuilds everything): DuckDB cannot commit a
    transaction that deletes from a table and then alters it, which is what
    dbt's on_schema_change would do after the hook.
#}
{% macro add_build_stamp_columns() -%}
    {%- set existing = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
    {%- if 'built_at' not in existing -%}
        alter table {{ this }} add column built_at timestamp;
    {%- endif -%}
    {%- if 'config_version' not in existing -%}
        alter table {{ this }} add column config_version varchar;
    {%- endif -%}
{%- endmacro %}

{# The stamps a case model's rows carry. #}
{% macro case_build_columns() -%}
    {{ build_stamp() }} as built_at,
    '{{ case_config_version() }}' as config_version
{%- endmacro %}
