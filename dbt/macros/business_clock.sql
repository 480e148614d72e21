{#-
    Business microseconds elapsed on a brand's clock up to `ts`, given the row of
    `int_business_calendar` for the local day of `ts` (joined as `calendar`).
    Business time between a and b = clock(b) - clock(a).
-#}
{% macro business_clock_us(ts, calendar) -%}
    ({{ calendar }}.open_us_before_day + case
        when {{ calendar }}.window_start_at is null then 0
        else least(
            greatest({{ microseconds_between(calendar ~ '.window_start_at', ts) }}, 0),
            {{ calendar }}.open_us
        )
    end)
{%- endmacro %}

{#-
    Local time without a per-row time-zone conversion: join the brand's offset
    for the UTC hour of `ts` from `int_utc_offsets` (as `alias`), then add it.
    Rows outside the table, or in an hour with a DST switch, are converted
    exactly with the brand's zone `tz`.
-#}
{% macro join_utc_offset(alias, brand_key, ts) -%}
    left join {{ ref('int_utc_offsets') }} as {{ alias }}
        on {{ alias }}.brand_key = {{ brand_key }}
        and {{ alias }}.utc_hour = {{ utc_hour_of(ts) }}
{%- endmacro %}

{% macro local_timestamp_via(ts, tz, alias) -%}
    case
        when {{ alias }}.offset_is_constant
            then {{ add_microseconds(utc_wall_clock(ts), alias ~ '.utc_offset_us') }}
        else {{ to_local_timestamp(ts, tz) }}
    end
{%- endmacro %}

{#- The UTC wall-clock hour of instant `ts`, whatever the session's time zone. -#}
{% macro utc_hour_of(ts) -%}
    date_trunc('hour', {{ utc_wall_clock(ts) }})
{%- endmacro %}

{#- Offset (microseconds) of zone `tz` at the UTC wall-clock time `utc_ts`. -#}
{% macro local_offset_us(utc_ts, tz) -%}
    {{ microseconds_between(utc_ts, to_local_timestamp(utc_instant(utc_ts), tz)) }}
{%- endmacro %}
