-- Each brand's UTC offset per UTC hour, so turning an instant into local time is
-- a join and an addition instead of a time-zone conversion per row (which costs
-- about a microsecond each and dominated the case models). An hour in which the
-- offset changes (a DST switch inside it) is flagged and converted row by row.
with

brands as (

    select * from {{ ref('stg_config__brands') }}

),

days as (

    -- the calendar's range already covers every post and "as of" with a margin
    select min(local_date) as first_day, max(local_date) as last_day
    from {{ ref('int_business_calendar') }}

),

hours as (

    select
        brands.brand_key,
        brands.timezone,
        spine.utc_hour

    from days
    cross join {{ hour_series('days.first_day - 1', 'days.last_day + 2') }} as spine
    cross join brands

),

offsets as (

    select
        brand_key,
        timezone,
        utc_hour,
        {{ local_offset_us('utc_hour', 'timezone') }} as utc_offset_us,
        {{ local_offset_us("utc_hour + interval '1 hour' - interval '1 microsecond'", 'timezone') }}
            as hour_end_offset_us

    from hours

)

select
    brand_key,
    utc_hour,
    utc_offset_us,
    utc_offset_us = hour_end_offset_us as offset_is_constant

from offsets
