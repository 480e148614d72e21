-- The text classifier's place in the DAG: every post gets kind, topic, language,
-- the follow-up signals and the reply style (address form, agent, emoji, small
-- talk, length). The rules come from the editable seeds `post_lexicon` and
-- `post_topics` through the `post_classification_ctes` macro, which
-- `carewatch classify` compiles too, so the CLI and the models always agree.
--
-- Incremental: classification is the costliest step and a post's class only
-- changes when its text or the lexicon does. Each run classifies the posts of
-- loads newer than the newest it has classified (a reloaded post comes back
-- with its new load); a lexicon edit (a new hash of both seeds) or a change of
-- brand accounts (which decide customer or brand rules) reclassifies all.
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
    ~ relation_version(ref('stg_config__brand_accounts'))
) %}
{%- set only_new = is_incremental()
    and this_has_column('load_id')
    and not version_changed(lexicon_version, 'lexicon_version') %}

with

posts as (

    -- who wrote it decides which rules apply (customer or brand account)
    select
        staged.*,
        accounts.account_handle is null as is_customer_post

    from {{ ref('stg_social__posts') }} as staged
    left join {{ ref('stg_config__brand_accounts') }} as accounts
        on staged.author_handle = accounts.account_handle
    {%- if only_new %}
    where staged.load_id > {{ load_watermark() }}
    {%- endif %}

),

{{ post_classification_ctes(
    relation='posts',
    text='post_text',
    source_language='source_language',
    keep=['platform', 'post_id', 'load_id'],
    customer_post='is_customer_post'
) }}

select
    *,
    '{{ lexicon_version }}' as lexicon_version

from posts_classified
