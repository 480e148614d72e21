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
    compile time, so the delete (the incremental strategy) and the insert cover the
    same conversations, and a run that failed half-way leaves the later models'
    watermarks behind: their next run picks the missed conversations up.
-#}

{#
    Everything the case models depend on besides the posts, as one hash: the
    configuration tables and the lexicon, and the code of the project's models
    (their checksums), so an upgrade that changes what a model computes or which
    columns it has rebuilds every row instead of leaving old rows beside new
    ones. The refs come first and unconditionally, so every case model depends
    on them at parse time ('' in unit tests, whose refs are fixtures).
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
    {%- set code = [] -%}
    {%- if execute -%}
        {%- for node in graph.nodes.values() | sort(attribute='unique_id')
                if node.resource_type == 'model' and node.package_name == project_name -%}
            {%- do code.append(node.checksum.checksum) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(local_md5(relations_version(relations) ~ '#' ~ (code | join(',')))) }}
{%- endmacro %}

{#
    The watermark an incremental run of a case model starts from (a SQL
    timestamp literal), or none when the run must rebuild everything: first
    build, full refresh, an empty table, a table from before this scheme, or a
    configuration change.
#}
{% macro conversation_scope_since() -%}
    {%- set version = case_config_version() -%}
    {%- if version_changed(version, 'config_version') -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set status_as_of = config.get('status_as_of_column') -%}
    {%- if status_as_of and as_of_moved_back(status_as_of) -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(newest_in_this('built_at', 'timestamp')) }}
{%- endmacro %}

{#
    True when this run's "as of" is earlier than the one some stored row was
    computed for (its `column`), or the table has no such column: statuses that
    depend on the clock (a breached SLA) must then be computed again for every row.
#}
{% macro as_of_moved_back(column) -%}
    {%- if execute and is_incremental() -%}
        {%- if not this_has_column(column) -%}
            {{ return(true) }}
        {%- endif -%}
        {{ return(run_query(
            "select coalesce(max(" ~ column ~ ") > " ~ as_of_timestamp() ~ ", false) from " ~ this
        ).columns[0].values()[0]) }}
    {%- endif -%}
    {{ return(false) }}
{%- endmacro %}

{#
    A predicate for reading another case model: its rows rebuilt after `since`
    (true on a full build). Every case model rebuilds whole conversations and
    stamps what it rebuilt, and it has processed every change up to this run
    (dbt runs it first; a model that failed stops the ones after it, whose
    watermarks then stay at or behind its own). So its rows stamped after this
    model's watermark are exactly its rows of the conversations
    `int_posts_threaded` re-walked since then, found through the stamp, which
    DuckDB checks per row group (appended rows sit together at the table's end)
    instead of joining the model's whole table with those conversations.
#}
{% macro rebuilt_after(since, stamp='built_at') -%}
    {%- if since is none -%}
        true
    {%- else -%}
        {{ stamp }} > {{ since }}
    {%- endif -%}
{%- endmacro %}

{#
    The case models' incremental strategy (dbt's custom-strategy hook): drop the
    stored rows of the conversations the run recomputes, found through a post of
    theirs (`forget_by`, so a conversation that merged into another one goes
    too), or every row when the run rebuilds everything; then append the new
    rows. share_of_voice_daily uses it with forget_by='day' (macros/day_scope.sql).
    It runs in dbt's transaction after any column change, so a delete never
    precedes an ALTER on the same table (DuckDB cannot commit that).
#}
{% macro get_incremental_forget_and_append_sql(arg_dict) -%}
    {%- set forget_by = config.require('forget_by') -%}
    {{ drop_columns_the_model_dropped(arg_dict) }}
    {%- if forget_by == 'day' -%}
        {{ forget_rebuilt_days() }};
    {%- else -%}
        {{ forget_changed_conversations(forget_by) }};
    {%- endif %}
    {{ get_incremental_append_sql(arg_dict) }}
{%- endmacro %}

{# Delete the rows of the conversations the run recomputes (all rows on a rebuild). #}
{% macro forget_changed_conversations(post_column) -%}
    {%- set since = conversation_scope_since() -%}
    delete from {{ this }}
    {%- if since is not none %}
    where (platform, {{ post_column }}) in (
        select platform, post_id from {{ ref('int_posts_threaded') }}
        where {{ rebuilt_after(since) }}
    )
    {%- if config.get('forget_also') %}
        or ({{ config.get('forget_also') }})
    {%- endif %}
    {%- endif %}
{%- endmacro %}

{#
    Columns the table has and the model no longer computes (an upgrade removed
    them): dropped before the delete, as dbt's append_new_columns (the choice of
    models with enforced contracts) only adds columns, and a left-over NOT NULL
    column would refuse the new rows.
#}
{% macro drop_columns_the_model_dropped(arg_dict) -%}
    {%- set kept = arg_dict['dest_columns'] | map(attribute='name') | map('lower') | list -%}
    {%- for column in adapter.get_columns_in_relation(arg_dict['target_relation']) -%}
        {%- if column.name | lower not in kept %}
    alter table {{ arg_dict['target_relation'] }} drop column {{ adapter.quote(column.name) }};
        {%- endif -%}
    {%- endfor -%}
{%- endmacro %}

{# The stamps a case model's rows carry. #}
{% macro case_build_columns() -%}
    {{ build_stamp() }} as built_at,
    '{{ case_config_version() }}' as config_version
{%- endmacro %}
