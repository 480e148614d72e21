{#-
    Helpers for the incremental models of the every-15-minutes cycle. Each such
    model stamps its rows with `built_at` (the dbt run's start) and, on the next
    run, takes only upstream rows stamped later than its own newest row: rows a
    failed run left unprocessed stay newer than the watermark, so nothing is lost.
-#}

{# This run's stamp for the rows a model (re)builds. #}
{% macro build_stamp() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
{%- endmacro %}

{#
    The newest `column` in this model's table as an SQL literal of `type`, read
    when the model compiles (a constant lets DuckDB filter the upstream scan
    before its joins; a subquery was only applied after them), or none when the
    model is not incremental or its table is empty.
#}
{% macro newest_in_this(column, type) -%}
    {%- if execute and is_incremental() -%}
        {%- set newest = run_query(
            "select cast(max(" ~ column ~ ") as varchar) from " ~ this
        ).columns[0].values()[0] -%}
        {%- if newest is not none -%}
            {{ return("cast('" ~ (newest | replace("'", "''")) ~ "' as " ~ type ~ ")") }}
        {%- endif -%}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{# The watermark: the newest `column` in this model's table, or -infinity. #}
{% macro watermark(column='built_at') -%}
    {{ return(newest_in_this(column, 'timestamp') or "cast('-infinity' as timestamp)") }}
{%- endmacro %}

{# The newest load (dlt's load id, text) in this model's table, or ''. #}
{% macro load_watermark() -%}
    {{ return(newest_in_this('load_id', 'varchar') or "''") }}
{%- endmacro %}

{#
    True when the model's table was built from a different version of the
    configuration it depends on (its rows carry `column`): such a run rebuilds
    everything instead of the new rows only.
#}
{% macro version_changed(version, column) -%}
    {%- if execute and is_incremental() -%}
        {%- if not this_has_column(column) -%}
            {{ return(true) }}
        {%- endif -%}
        {%- set found = run_query(
            "select count(*) from " ~ this ~ " where " ~ column ~ " is distinct from '" ~ version ~ "'"
        ).columns[0].values()[0] -%}
        {{ return(found > 0) }}
    {%- endif -%}
    {{ return(false) }}
{%- endmacro %}

{# Whether this model's existing table has `column` (a table from before it was added). #}
{% macro this_has_column(column) -%}
    {{ return(column in (adapter.get_columns_in_relation(this) | map(attribute='name') | list)) }}
{%- endmacro %}

{# A hash of a relation's rows (in a stable order), computed at compile time. #}
{% macro relation_version(relation) -%}
    {{ return(relations_version([relation])) }}
{%- endmacro %}

{#
    One hash of several relations' rows, in one query (a case model asks on every
    run, so one round trip instead of one per relation).
#}
{% macro relations_version(relations) -%}
    {%- if execute -%}
        {%- set parts = [] -%}
        {%- for relation in relations -%}
            {%- do parts.append(
                "(select coalesce(string_agg(cast(r as varchar), '|' order by cast(r as varchar)), '')"
                ~ " from " ~ relation ~ " as r)"
            ) -%}
        {%- endfor -%}
        {{ return(run_query("select md5(" ~ (parts | join(" || '#' || ")) ~ ")").columns[0].values()[0]) }}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}
