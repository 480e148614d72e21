{#-
    A contract's not-null constraints are declared when dbt creates the table:
    an incremental table created before a column got its constraint would never
    gain it. This pre-hook of the marts adds the missing ones to an existing
    incremental table (DuckDB checks the stored rows as it does), so an upgraded
    warehouse refuses nulls from its next run on, not from its next full
    rebuild. A table that has them all costs one catalog query; a column this run
    appends (`append_new_columns`) gets its constraint on the next run.
-#}
{% macro add_missing_not_null_constraints() -%}
    {{ return(adapter.dispatch('add_missing_not_null_constraints', 'carewatch')()) }}
{%- endmacro %}

{% macro duckdb__add_missing_not_null_constraints() -%}
    {%- if execute and is_incremental() and model.config.get('contract', {}).get('enforced') -%}
        {%- set wanted = [] -%}
        {%- for column in model.columns.values() -%}
            {%- if column.constraints | selectattr('type', 'equalto', 'not_null') | list -%}
                {%- do wanted.append(column.name) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if wanted -%}
            {#- columns the table has (a column appended by this run gets it next run) -#}
            {%- set missing = run_query(
                "select column_name from duckdb_columns() where is_nullable"
                ~ " and database_name = '" ~ this.database ~ "' and schema_name = '" ~ this.schema
                ~ "' and table_name = '" ~ this.identifier ~ "' and column_name in ('"
                ~ wanted | join("', '") ~ "') order by column_index"
            ).columns[0].values() -%}
            {%- for name in missing %}
    alter table {{ this }} alter column {{ adapter.quote(name) }} set not null;
            {%- endfor -%}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{# Other engines: an incremental table keeps the constraints it was created with. #}
{% macro default__add_missing_not_null_constraints() -%}
{%- endmacro %}
