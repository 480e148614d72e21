with

source as (

    select * from {{ source('carewatch_config', 'brands') }}

),

renamed as (

    select
        brand_key,
        brand_name,
        is_own_brand,
        timezone,
        holiday_country,
        holiday_subdivision,
        sla_target_minutes,
        response_window_days

    from source

)

select * from renamed
