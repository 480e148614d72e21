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
        {#- warehouses loaded before dlt stamped our Arrow batches have no load id -#}
        {%- if '_dlt_load_id' in (adapter.get_columns_in_relation(source('social', 'posts')) | map(attribute='name') | list) %}
        _dlt_load_id as load_id
        {%- else %}
        cast(null as varchar) as load_id
        {%- endif %}

    from source

)

select * from renamed
