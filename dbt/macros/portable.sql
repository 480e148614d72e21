{#-
    Engine-specific SQL lives only here, behind adapter.dispatch, so the models
    stay portable (DuckDB by default; PostgreSQL and Spark get their own
    variants). Each macro documents the one thing it does.
-#}

{# A UTC timestamp (with time zone) as local wall-clock time in `tz`. #}
{% macro to_local_timestamp(ts, tz) -%}
    {{ return(adapter.dispatch('to_local_timestamp', 'carewatch')(ts, tz)) }}
{%- endmacro %}
{% macro default__to_local_timestamp(ts, tz) -%}
    timezone({{ tz }}, {{ ts }})
{%- endmacro %}
{% macro spark__to_local_timestamp(ts, tz) -%}
    from_utc_timestamp({{ ts }}, {{ tz }})
{%- endmacro %}

{# Local wall-clock time in `tz` as an absolute (UTC) timestamp; DST aware. #}
{% macro from_local_timestamp(local_ts, tz) -%}
    {{ return(adapter.dispatch('from_local_timestamp', 'carewatch')(local_ts, tz)) }}
{%- endmacro %}
{% macro default__from_local_timestamp(local_ts, tz) -%}
    timezone({{ tz }}, {{ local_ts }})
{%- endmacro %}
{% macro spark__from_local_timestamp(local_ts, tz) -%}
    to_utc_timestamp({{ local_ts }}, {{ tz }})
{%- endmacro %}

{# Microseconds from `start_ts` to `end_ts` as an exact integer. #}
{% macro microseconds_between(start_ts, end_ts) -%}
    {{ return(adapter.dispatch('microseconds_between', 'carewatch')(start_ts, end_ts)) }}
{%- endmacro %}
{% macro default__microseconds_between(start_ts, end_ts) -%}
    (epoch_us({{ end_ts }}) - epoch_us({{ start_ts }}))
{%- endmacro %}
{% macro postgres__microseconds_between(start_ts, end_ts) -%}
    cast(round(extract(epoch from ({{ end_ts }} - {{ start_ts }})) * 1000000) as bigint)
{%- endmacro %}

{# Minutes (double) from a microsecond count. #}
{% macro us_to_minutes(us) -%}
    (({{ us }}) / 60000000.0)
{%- endmacro %}

{# True when `text` matches `pattern` (RE2 syntax), case-insensitive. #}
{% macro regex_matches_ci(text, pattern) -%}
    {{ return(adapter.dispatch('regex_matches_ci', 'carewatch')(text, pattern)) }}
{%- endmacro %}
{% macro default__regex_matches_ci(text, pattern) -%}
    regexp_matches({{ text }}, {{ pattern }}, 'i')
{%- endmacro %}
{% macro postgres__regex_matches_ci(text, pattern) -%}
    ({{ text }} ~* {{ pattern }})
{%- endmacro %}

{# True when `text` matches `pattern`, case-sensitive. #}
{% macro regex_matches_cs(text, pattern) -%}
    {{ return(adapter.dispatch('regex_matches_cs', 'carewatch')(text, pattern)) }}
{%- endmacro %}
{% macro default__regex_matches_cs(text, pattern) -%}
    regexp_matches({{ text }}, {{ pattern }})
{%- endmacro %}
{% macro postgres__regex_matches_cs(text, pattern) -%}
    ({{ text }} ~ {{ pattern }})
{%- endmacro %}

{# First capture group of `pattern` in `text`, or null when it does not match. #}
{% macro regex_capture(text, pattern) -%}
    {{ return(adapter.dispatch('regex_capture', 'carewatch')(text, pattern)) }}
{%- endmacro %}
{% macro default__regex_capture(text, pattern) -%}
    nullif(regexp_extract({{ text }}, {{ pattern }}, 1), '')
{%- endmacro %}
{% macro postgres__regex_capture(text, pattern) -%}
    substring({{ text }} from {{ pattern }})
{%- endmacro %}

{# A JSON array of strings (as stored by dlt) as a native list of text. #}
{% macro json_string_list(column) -%}
    {{ return(adapter.dispatch('json_string_list', 'carewatch')(column)) }}
{%- endmacro %}
{% macro default__json_string_list(column) -%}
    coalesce(cast(json({{ column }}) as varchar[]), [])
{%- endmacro %}

{# One row per element of a list column: use as a table expression with alias. #}
{% macro unnest_list(column) -%}
    {{ return(adapter.dispatch('unnest_list', 'carewatch')(column)) }}
{%- endmacro %}
{% macro default__unnest_list(column) -%}
    unnest({{ column }})
{%- endmacro %}

{# Continuous percentile aggregate (0 <= fraction <= 1). #}
{#
    `fraction` of `column`, interpolated. `together`: the fractions a query asks of the
    same column (`fraction` among them); DuckDB then sorts the column once for all of
    them (one list-valued aggregate, which it computes once however often the query
    names it) instead of once per fraction.
#}
{% macro percentile_cont(column, fraction, together=none) -%}
    {{ return(adapter.dispatch('percentile_cont', 'carewatch')(column, fraction, together)) }}
{%- endmacro %}
{% macro default__percentile_cont(column, fraction, together=none) -%}
    {%- if together -%}
    quantile_cont({{ column }}, [{{ together | join(', ') }}])[{{ together.index(fraction) + 1 }}]
    {%- else -%}
    quantile_cont({{ column }}, {{ fraction }})
    {%- endif -%}
{%- endmacro %}
{% macro postgres__percentile_cont(column, fraction, together=none) -%}
    percentile_cont({{ fraction }}) within group (order by {{ column }})
{%- endmacro %}

{# Every date from `start_date` to `end_date` inclusive, as a one-column relation `calendar_date`. #}
{% macro date_series(start_date, end_date) -%}
    {{ return(adapter.dispatch('date_series', 'carewatch')(start_date, end_date)) }}
{%- endmacro %}
{% macro default__date_series(start_date, end_date) -%}
    (select cast(d as date) as calendar_date
     from generate_series(cast({{ start_date }} as timestamp), cast({{ end_date }} as timestamp), interval '1 day') as t(d))
{%- endmacro %}

{# Every hour from `start_date` to `end_date` (exclusive), as wall-clock timestamps `utc_hour`. #}
{% macro hour_series(start_date, end_date) -%}
    {{ return(adapter.dispatch('hour_series', 'carewatch')(start_date, end_date)) }}
{%- endmacro %}
{% macro default__hour_series(start_date, end_date) -%}
    (select h as utc_hour
     from generate_series(cast({{ start_date }} as timestamp), cast({{ end_date }} as timestamp) - interval '1 hour', interval '1 hour') as t(h))
{%- endmacro %}

{# An instant (timestamp with time zone) as UTC wall-clock time (timestamp without). #}
{% macro utc_wall_clock(ts) -%}
    {{ return(adapter.dispatch('utc_wall_clock', 'carewatch')(ts)) }}
{%- endmacro %}
{% macro default__utc_wall_clock(ts) -%}
    timezone('UTC', {{ ts }})
{%- endmacro %}
{% macro spark__utc_wall_clock(ts) -%}
    cast({{ ts }} as timestamp)
{%- endmacro %}

{# UTC wall-clock time (timestamp without time zone) as an instant. #}
{% macro utc_instant(wall_clock) -%}
    {{ return(adapter.dispatch('utc_instant', 'carewatch')(wall_clock)) }}
{%- endmacro %}
{% macro default__utc_instant(wall_clock) -%}
    timezone('UTC', {{ wall_clock }})
{%- endmacro %}
{% macro spark__utc_instant(wall_clock) -%}
    cast({{ wall_clock }} as timestamp)
{%- endmacro %}

{# `ts` plus `us` microseconds (a bigint). #}
{% macro add_microseconds(ts, us) -%}
    {{ return(adapter.dispatch('add_microseconds', 'carewatch')(ts, us)) }}
{%- endmacro %}
{% macro default__add_microseconds(ts, us) -%}
    ({{ ts }} + to_microseconds({{ us }}))
{%- endmacro %}
{% macro postgres__add_microseconds(ts, us) -%}
    ({{ ts }} + {{ us }} * interval '1 microsecond')
{%- endmacro %}

{# ISO weekday (1 = Monday .. 7 = Sunday) of a date or local timestamp. #}
{% macro iso_weekday(value) -%}
    cast(extract(isodow from {{ value }}) as integer)
{%- endmacro %}

{#
    "As of" (the "now" of pending and backlog logic) as a UTC timestamp: the
    `as_of` var when given (unit tests, hand-run dbt), else the instant carewatch
    wrote into `carewatch_config.run_context` before the build (kept out of the
    vars so partial parsing survives every cycle), else the current time.
#}
{% macro as_of_timestamp() -%}
    {%- if var('as_of') -%}
        cast('{{ var("as_of") }}' as timestamp with time zone)
    {%- else -%}
        coalesce(
            (select max(as_of_at) from {{ source('carewatch_config', 'run_context') }}),
            current_timestamp
        )
    {%- endif -%}
{%- endmacro %}
