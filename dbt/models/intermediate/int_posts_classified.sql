-- The text classifier's place in the DAG: every post gets kind, topic, language,
-- the follow-up signals and the reply style (address form, agent, emoji, small
-- talk, length). The rules come from the editable seeds `post_lexicon` and
-- `post_topics` through the `post_classification_ctes` macro, which
-- `carewatch classify` compiles too, so the CLI and the models always agree.
--
-- Incremental: classification is the costliest step and a post's class only
-- changes when its text or the lexicon does. Each run classifies the posts not
-- yet classified with the current lexicon version (a hash of both seeds), so a
-- lexicon edit reclassifies everything and a normal cycle only the new posts.
-- depends_on: {{ ref('post_lexicon') }}
-- depends_on: {{ ref('post_topics') }}
{{ config(
    materialized='incremental',
    unique_key=['platform', 'post_id'],
    incremental_strategy='delete+insert',
    on_schema_change='sync_all_columns'
) }}

{%- set lexicon_version = local_md5(
    (post_lexicon_rules() | tojson) ~ (post_topic_rules() | tojson)
) %}

with

posts as (

    select * from {{ ref('stg_social__posts') }} as staged
    {%- if is_incremental() and 'lexicon_version' in (
        adapter.get_columns_in_relation(this) | map(attribute='name') | list
    ) %}
    where not exists (
        select 1
        from {{ this }} as done
        where done.platform = staged.platform
            and done.post_id = staged.post_id
            and done.lexicon_version = '{{ lexicon_version }}'
    )
    {%- endif %}

),

{{ post_classification_ctes(
    relation='posts',
    text='post_text',
    source_language='source_language',
    keep=['platform', 'post_id']
) }}

select
    *,
    '{{ lexicon_version }}' as lexicon_version

from posts_classified
