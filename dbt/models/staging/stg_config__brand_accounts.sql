with

source as (

    select * from {{ source('carewatch_config', 'brand_accounts') }}

),

renamed as (

    select
        handle as account_handle,
        brand_key,
        role as account_role

    from source

)

select * from renamed
