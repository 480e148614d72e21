with

source as (

    select * from {{ source('social', 'posts') }}

),

renamed as (

    select
        -- ids
        platform,
        post_id,
        parent_post_id,
        conversation_id as source_conversation_id,

        -- author
        lower(author_handle) as author_handle,
        author_key,

        -- text
        text as post_text,
        lower(language) as source_language,
        {{ json_string_list('mentioned_handles') }} as mentioned_handles,

        -- timestamps
        created_at,

        -- lineage
        source as load_source,
        _dlt_load_id as load_id

    from source

)

select * from renamed
