-- The business clock, set-based: one row per brand and local day with that
-- day's service window in UTC (DST handled by converting each day on its own)
-- and the business time elapsed before the day began. Business time between
-- two instants is then a difference of two look-ups, never a loop.
with

brands as (

    select * from {{ ref('stg_config__brands') }}

),

hours as (

    select * from {{ ref('stg_config__service_hours') }}

),

holidays as (

    select * from {{ ref('stg_config__holidays') }}

),

bounds as (

    -- a day of margin either side so every post and "as of" finds its day in any zone
    select
        cast(min(created_at) as date) - 2 as first_day,
        cast(greatest(max(created_at), {{ as_of_timestamp() }}) as date) + 2 as last_day

    from {{ ref('stg_social__posts') }}

),

days as (

    select
        brands.brand_key,
        brands.timezone,
        spine.calendar_date as local_date

    from bounds
    cross join {{ date_series('bounds.first_day', 'bounds.last_day') }} as spine
    cross join brands

),

windows as (

    select
        days.brand_key,
        days.local_date,
        holidays.holiday_date is not null as is_holiday,
        case when holidays.holiday_date is null then
            {{ from_local_timestamp("cast(days.local_date as timestamp) + hours.opens_minute * interval '1 minute'", 'days.timezone') }}
        end as window_start_at,
        case when holidays.holiday_date is null then
            {{ from_local_timestamp("cast(days.local_date as timestamp) + hours.closes_minute * interval '1 minute'", 'days.timezone') }}
        end as window_end_at

    from days
    left join hours
        on days.brand_key = hours.brand_key
        and {{ iso_weekday('days.local_date') }} = hours.iso_weekday
    left join holidays
        on days.brand_key = holidays.brand_key
        and days.local_date = holidays.holiday_date

),

measured as (

    select
        *,
        coalesce({{ microseconds_between('window_start_at', 'window_end_at') }}, 0) as open_us

    from windows

),

cumulated as (

    select
        *,
        sum(open_us) over (
            partition by brand_key
            order by local_date
            rows between unbounded preceding and current row
        ) - open_us as open_us_before_day

    from measured

)

select * from cumulated
