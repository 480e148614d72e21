{#-
    Data tests on the every-15-minutes cycle look only at what it rebuilt.

    dbt hands every generic test its model through `get_where_subquery`; this
    override (dbt's documented hook, the `where` config still works) narrows a
    model that carries build stamps (`built_at`) to the rows built after the
    last fully passing cycle, when carewatch asked for that: the scheduled cycle
    sets that instant (the newest stamp its last passing quality gate covered)
    as CAREWATCH_TESTS_ROWS_BUILT_AFTER for its dbt invocation. Rows built by a
    run whose checks then failed are newer than it, so they are tested again.
    The staging posts carry no stamp but dlt's load id: there the rows loaded
    after that instant are tested (a cycle loads before it builds, so its posts
    were loaded before its stamp).

    Which models carry a stamp is read from their documented columns
    (`_models.yml`, in dbt's graph), not from the database: a query per test
    cost ~20 ms of dbt's single Python thread, 59 times a cycle. An undocumented
    stamp only makes its tests look at every row (a test in
    tests/test_publish_gate.py keeps the documentation complete).

    Uniqueness tests keep every row that shares a key with a rebuilt row, so a
    new duplicate of an old key still fails. Full refreshes, a `dbt build` by
    hand and models without stamps test every row; singular tests choose per
    model (`rows_to_test`).
-#}

{% macro get_where_subquery(relation) -%}
    {%- set scoped = rows_to_test(relation, config.get('where', '')) -%}
    {{ return((scoped ~ ' dbt_subquery') if scoped is string else relation) }}
{%- endmacro %}

{#
    `relation`, or a subquery of the rows of it to test (see above); singular tests
    that compare models call it directly: `from {{ rows_to_test(ref('x')) }} as x`.
#}
{% macro rows_to_test(relation, where='') -%}
    {%- set since = tests_rows_built_after() if execute else none -%}
    {%- set columns = documented_columns(relation) if since is not none else [] -%}
    {%- if 'built_at' in columns or 'load_id' in columns -%}
        {%- set test = model.test_metadata if model.test_metadata else none -%}
        {%- set kwargs = test.kwargs if test else {} -%}
        {%- set key_columns = kwargs.get('columns') or (
                [kwargs.get('column_name')] if test and test.name == 'unique' else []) -%}
        {%- if 'built_at' in columns -%}
            {%- set rebuilt = "built_at > cast('" ~ since ~ "' as timestamp)" -%}
        {%- else -%}
            {#- staging: the posts loaded after that instant. dlt's load id is the
                load's start in epoch seconds as text; with ten integer digits (until
                2286) text order is number order, and comparing text is ~3x faster
                than casting 5M ids. A post without a load id is tested. -#}
            {%- set loaded_after = modules.datetime.datetime.fromisoformat(since).replace(
                    tzinfo=modules.pytz.utc).timestamp() -%}
            {%- set rebuilt = "coalesce(load_id > '" ~ ('%.6f' | format(loaded_after)) ~ "', true)" -%}
        {%- endif -%}
        {%- if key_columns -%}
            {#- the subquery selects the columns, not one row value: DuckDB then plans
                a semi join on the columns, ~30% faster than matching structs -#}
            {%- set rebuilt = '(' ~ key_columns | join(', ') ~ ') in (select ' ~ key_columns | join(', ')
                    ~ ' from ' ~ relation ~ ' where ' ~ rebuilt ~ ')' -%}
        {%- endif -%}
        {%- set where = rebuilt ~ ((' and (' ~ where ~ ')') if where else '') -%}
    {%- endif -%}
    {%- if where -%}
        {{ return('(select * from ' ~ relation ~ ' where ' ~ where ~ ')') }}
    {%- endif -%}
    {{ return(relation) }}
{%- endmacro %}

{#
    The instant the scheduled cycle asked tests to start from, or none (test all).
    Read only when executing, so partial parsing never depends on it.
#}
{% macro tests_rows_built_after() -%}
    {{ return(env_var('CAREWATCH_TESTS_ROWS_BUILT_AFTER', '') or none) }}
{%- endmacro %}

{#
    The documented columns of the model behind `relation`, found among the
    running test's dependencies ([] for anything else: seeds, sources).
#}
{% macro documented_columns(relation) -%}
    {%- for unique_id in model.depends_on.nodes -%}
        {%- set node = graph.nodes.get(unique_id) -%}
        {%- if node and node.alias == relation.identifier and node.schema == relation.schema -%}
            {{ return(node.columns.keys() | list) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return([]) }}
{%- endmacro %}
