with

source as (

    select * from {{ source('carewatch_config', 'brand_terms') }}

),

renamed as (

    select
        brand_key,
        term,
        term_kind,
        term_pattern

    from source

)

select * from renamed
