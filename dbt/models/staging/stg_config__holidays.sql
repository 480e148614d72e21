with

source as (

    select * from {{ source('carewatch_config', 'holidays') }}

),

renamed as (

    select
        brand_key,
        holiday_date,
        holiday_name

    from source

)

select * from renamed
