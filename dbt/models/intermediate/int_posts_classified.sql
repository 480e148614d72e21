-- The text classifier's place in the DAG: every post gets kind, topic, language
-- and the follow-up / tone signals. The rules come from the editable lexicon
-- seed through the `post_classification` macro, which `carewatch classify` uses
-- too, so the CLI and the models always agree.
-- depends_on: {{ ref('post_lexicon') }}
with

posts as (

    select * from {{ ref('stg_social__posts') }}

),

classified as (

    select
        platform,
        post_id,
        {{ post_classification('post_text', 'source_language') }}

    from posts

)

select * from classified
