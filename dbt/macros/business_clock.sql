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

{#- Join condition: the calendar row of the brand's local day of `ts`. -#}
{% macro calendar_day_of(ts, tz, calendar) -%}
    cast({{ to_local_timestamp(ts, tz) }} as date) = {{ calendar }}.local_date
{%- endmacro %}
