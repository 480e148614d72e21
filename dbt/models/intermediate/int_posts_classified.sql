-- The text classifier's place in the DAG: every post gets kind, topic, language,
-- the follow-up signals and the reply style (address form, agent, emoji, small
-- talk, length). The rules come from the editable seeds `post_lexicon` and
-- `post_topics` through the `post_classification_ctes` macro, which
-- `carewatch classify` compiles too, so the CLI and the models always agree.
-- depends_on: {{ ref('post_lexicon') }}
-- depends_on: {{ ref('post_topics') }}
with

posts as (

    select * from {{ ref('stg_social__posts') }}

),

{{ post_classification_ctes(
    relation='posts',
    text='post_text',
    source_language='source_language',
    keep=['platform', 'post_id']
) }}

select * from posts_classified
