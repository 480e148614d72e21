{#-
    Data tests on the every-15-minutes cycle look only at what it rebuilt.

    dbt hands every generic test its model through `get_where_subquery`; this
    override (dbt's documented hook, the `where` config still works) narrows a
    model that carries build stamps (`built_at`) to the rows built after the
    last fully passing cycle, when carewatch asked for that: the scheduled cycle
    writes that instant into `carewatch_config.run_context.tests_rows_built_after`
    (the newest stamp its last passing quality gate covered). Rows built by a run
    whose checks then failed are newer than it, so they are tested again.

    Uniqueness tests keep every row that shares a key with a rebuilt row, so a
    new duplicate of an old key still fails. Full refreshes, `dbt build` by hand
    and models without stamps test every row; the singular tests (tests/*.sql)
    always do.
-#}

{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- set since = tests_rows_built_after() if execute else none -%}
    {%- if since is not none and 'built_at' in (
            adapter.get_columns_in_relation(relation) | map(attribute='name') | list) -%}
        {%- set kwargs = model.test_metadata.kwargs if model.test_metadata else {} -%}
        {%- set key_columns = kwargs.get('columns') or (
                [kwargs.get('column_name')] if model.test_metadata.name == 'unique' else []) -%}
        {%- set rebuilt = "built_at > cast('" ~ since ~ "' as timestamp)" -%}
        {%- if key_columns -%}
            {%- set key = '(' ~ key_columns | join(', ') ~ ')' -%}
            {%- set rebuilt = key ~ ' in (select ' ~ key ~ ' from ' ~ relation ~ ' where ' ~ rebuilt ~ ')' -%}
        {%- endif -%}
        {%- set where = rebuilt ~ ((' and (' ~ where ~ ')') if where else '') -%}
    {%- endif -%}
    {%- if where -%}
        {{ return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') }}
    {%- endif -%}
    {{ return(relation) }}
{%- endmacro %}

{# The instant the scheduled cycle asked tests to start from, or none (test all). #}
{% macro tests_rows_built_after() -%}
    {%- set context_table = adapter.get_relation(
            database=target.database, schema='carewatch_config', identifier='run_context') -%}
    {%- if context_table is none
            or 'tests_rows_built_after' not in (
                adapter.get_columns_in_relation(context_table) | map(attribute='name') | list) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set since = run_query(
            'select cast(max(tests_rows_built_after) as varchar) from ' ~ context_table
        ).columns[0].values()[0] -%}
    {{ return(since) }}
{%- endmacro %}
