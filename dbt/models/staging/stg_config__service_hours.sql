with

source as (

    select * from {{ source('carewatch_config', 'service_hours') }}

),

renamed as (

    select
        brand_key,
        iso_weekday,
        opens_minute,
        closes_minute

    from source

)

select * from renamed
