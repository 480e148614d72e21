{#-
    The text classifier as SQL, assembled at compile time from two seeds the
    care team edits (no code change needed to add a word):

    - `post_lexicon`: one row per cue: signal, language, weight,
      case_sensitive, pattern (RE2 syntax). A post's score for a signal is the
      sum of the weights of the rows whose pattern matches it (each row counts
      once); the signal fires at a score of at least 1. So a row of weight 1
      decides alone, weaker cues (0.2 to 0.7) need company, negative rows
      cancel (negation, "no problem", thanks). A row with a language (de, en)
      is only tried on posts of that language (posts of neither language get
      every row); rows without one apply to all posts.
      Case-insensitive rows are matched against the normalised text (lower
      case, URLs and @handles removed, '#' dropped, ä/ö/ü/ß spelt ae/oe/ue/ss:
      patterns may use either spelling and `\b` is safe). Case-sensitive rows
      (address form, signatures) see the text with URLs removed, as written.
      Special signals: `lang_de` / `lang_en` count matches (the larger count
      wins), `agent_signature` rows capture the agent in group 1 (first
      matching row wins), `agent_stopword` rows reject a captured word.
    - `post_topics`: topic, priority, pattern; the post's topic is the topic
      of the first row by priority whose pattern matches, else 'other'. A
      topic may have several rows: specific words early, words that are also
      used as the brand ("T-Online", "MagentaTV") late.

    Every pattern is a constant, so the engine compiles each regex once.
    `carewatch classify` compiles this same macro, so CLI and models agree.
-#}

{% macro post_lexicon_rules() %}
    {#- list of {signal, language, weight, cs, pattern} in seed order -#}
    {% set rules = [] %}
    {% if execute %}
        {% set rows = run_query(
            "select signal, language, weight, case_sensitive, pattern from " ~ ref('post_lexicon')
            ~ " where pattern is not null and pattern <> ''"
        ) %}
        {% for row in rows %}
            {% do rules.append({
                'signal': row[0] | trim,
                'language': (row[1] or '') | trim | lower,
                'weight': (row[2] if row[2] is not none else 1) | float,
                'cs': row[3] in (true, 'true', 'True', 1),
                'pattern': row[4]
            }) %}
        {% endfor %}
    {% endif %}
    {{ return(rules) }}
{% endmacro %}

{% macro post_topic_rules() %}
    {#- list of (topic, pattern), one per seed row, by priority (then topic) -#}
    {% set topics = [] %}
    {% if execute %}
        {% set rows = run_query(
            "select topic, pattern from " ~ ref('post_topics')
            ~ " where pattern is not null and pattern <> '' order by priority, topic"
        ) %}
        {% for row in rows %}
            {% do topics.append((row[0] | trim, row[1])) %}
        {% endfor %}
    {% endif %}
    {{ return(topics) }}
{% endmacro %}

{# A lexicon pattern as an SQL string literal in the engine's regex dialect. #}
{% macro sql_string(value) -%}
    '{{ regex_pattern_for_engine(value) | replace("'", "''") }}'
{%- endmacro %}

{# A case-insensitive pattern in the normalised spelling (umlauts as ae/oe/ue/ss). #}
{% macro normalised_pattern(pattern) -%}
    {{- pattern | replace('ä', 'ae') | replace('ö', 'oe') | replace('ü', 'ue') | replace('ß', 'ss')
        | replace('Ä', 'ae') | replace('Ö', 'oe') | replace('Ü', 'ue') -}}
{%- endmacro %}

{# True when the rule's pattern matches the post (normalised or plain text). #}
{% macro rule_matches(rule) -%}
    {%- if rule.cs -%}
        {{ regex_matches_cs('cw_plain', sql_string(rule.pattern)) }}
    {%- else -%}
        {{ regex_matches_ci('cw_norm', sql_string(normalised_pattern(rule.pattern))) }}
    {%- endif -%}
{%- endmacro %}

{# Sum of the weights of the matching `rules` (0.0 when none). #}
{% macro rules_score(rules) -%}
    {%- set terms = [] -%}
    {%- for rule in rules -%}
        {%- do terms.append('case when ' ~ rule_matches(rule) ~ ' then ' ~ ('%.3f' | format(rule.weight)) ~ ' else 0.0 end') -%}
    {%- endfor -%}
    {%- if terms -%}({{ terms | join('\n            + ') }}){%- else -%}0.0{%- endif -%}
{%- endmacro %}

{#
    The same sum, faster: rules go in chunks of `chunk` rules that read the same
    text, and one alternation of a chunk's patterns tells whether any of them
    matches. Only posts that match it look further, into each half of the chunk
    the same way, down to pairs of rules tried one by one (rules_tree_score). A
    regex costs about the same whatever its size (one pass over the text), so a
    post pays a few scans instead of one per rule: most posts match few rules,
    and a matching chunk usually holds one match. The result is the same number:
    an alternation matches exactly when one of its patterns does.
#}
{% macro prefiltered_rules_score(rules, chunk=8, prefilter=true) -%}
    {%- set sensitive = rules | selectattr('cs') | list -%}
    {%- set insensitive = rules | rejectattr('cs') | list -%}
    {%- set terms = [] -%}
    {%- for group in [sensitive, insensitive] if group -%}
        {%- for part in group | batch(chunk) -%}
            {%- do terms.append(rules_tree_score(part) if prefilter else rules_score(part)) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if terms -%}({{ terms | join('\n            + ') }}){%- else -%}0.0{%- endif -%}
{%- endmacro %}

{# Sum of the weights of `rules` (all of one case sensitivity) that match, by halves. #}
{% macro rules_tree_score(rules) -%}
    {%- if rules | length <= 2 -%}
        {{- rules_score(rules) -}}
    {%- else -%}
        {%- set half = ((rules | length) + 1) // 2 -%}
        {%- set any_rule = {'cs': rules[0].cs, 'pattern': '(?:' ~ (rules | map(attribute='pattern') | join(')|(?:')) ~ ')'} -%}
        case when {{ rule_matches(any_rule) }} then ({{ rules_tree_score(rules[:half]) }} + {{ rules_tree_score(rules[half:]) }}) else 0.0 end
    {%- endif -%}
{%- endmacro %}

{#
    A post's score for `signal`: rows for every language, plus the German rows
    unless the post is English, plus the English rows unless it is German (the
    engine only evaluates the branch a post needs). With `cue` (an SQL boolean
    that is false only when none of the signal's rows can match), a post without
    the cue scores 0.0 without trying a row.
#}
{% macro signal_score(rules, signal, cue=none, prefilter=true) -%}
    {%- set common = [] -%}
    {%- set german = [] -%}
    {%- set english = [] -%}
    {%- for rule in rules if rule.signal == signal -%}
        {%- if rule.language == 'de' -%}{%- do german.append(rule) -%}
        {%- elif rule.language == 'en' -%}{%- do english.append(rule) -%}
        {%- else -%}{%- do common.append(rule) -%}{%- endif -%}
    {%- endfor -%}
    {%- if cue %}case when {{ cue }} then {% endif -%}
    ({{ prefiltered_rules_score(common, prefilter=prefilter) }}
        {%- if german %}
            + case when cw_language = 'en' then 0.0 else {{ prefiltered_rules_score(german, prefilter=prefilter) }} end
        {%- endif %}
        {%- if english %}
            + case when cw_language = 'de' then 0.0 else {{ prefiltered_rules_score(english, prefilter=prefilter) }} end
        {%- endif %})
    {%- if cue %} else 0.0 end{% endif -%}
{%- endmacro %}

{#
    A regex matching where any of `patterns` (case-insensitive, normalised text)
    does: one scan of the text instead of one per pattern.
#}
{% macro any_pattern_ci(patterns) -%}
    {%- set normalised = [] -%}
    {%- for pattern in patterns -%}{%- do normalised.append(normalised_pattern(pattern)) -%}{%- endfor -%}
    {{ regex_matches_ci('cw_norm', sql_string('(?:' ~ normalised | join(')|(?:') ~ ')')) }}
{%- endmacro %}

{# Number of matches of all `signal` rows together (for lang_de / lang_en). #}
{% macro signal_count(rules, signal) -%}
    {%- set patterns = [] -%}
    {%- for rule in rules if rule.signal == signal -%}
        {%- do patterns.append(normalised_pattern(rule.pattern)) -%}
    {%- endfor -%}
    {%- if patterns -%}
        {{ regex_count_ci('cw_norm', sql_string('(?:' ~ patterns | join(')|(?:') ~ ')')) }}
    {%- else -%}0{%- endif -%}
{%- endmacro %}

{#
    The classifier as CTEs to place in a `with` list: it reads
    `relation`, keeps the columns in `keep` (SQL expressions, usually column
    names) and ends in `posts_classified` with these columns added:
    case_kind, is_complaint, topic, language, asks_private_channel,
    mentions_technician, says_resolved, says_unresolved, address_form, agent,
    uses_emoji, has_small_talk, text_length, complaint_score.
    `customer_post` (an SQL boolean, null when unknown) spares each side the
    rules only the other side's posts need: a customer post gets no address form,
    agent, emoji, small talk or private-channel score, a brand post no kind
    (other), topic (other), resolved or unresolved. Unknown posts get everything.
    `prefilter=false` tries every rule of every post one by one (no chunk
    alternations, cues or topic scan): slower, the same labels; tests compare.
#}
{% macro post_classification_ctes(relation, text, source_language='null', keep=[], customer_post='null', prefilter=true) %}
    {%- set rules = post_lexicon_rules() -%}
    {%- set topics = post_topic_rules() -%}
    {%- set scored = ['complaint', 'question', 'praise', 'private_channel', 'technician', 'resolved',
                      'unresolved', 'formal', 'informal', 'emoji', 'small_talk'] -%}
    {%- set signatures = [] -%}
    {%- set stopwords = [] -%}
    {%- for rule in rules -%}
        {%- if rule.signal == 'agent_signature' -%}{%- do signatures.append(rule.pattern) -%}{%- endif -%}
        {%- if rule.signal == 'agent_stopword' -%}{%- do stopwords.append(rule.pattern) -%}{%- endif -%}
    {%- endfor -%}
    {#- signals only one side's posts use: the other side's posts skip those rules -#}
    {%- set customer_only = ['complaint', 'question', 'praise', 'resolved', 'unresolved'] -%}
    {%- set brand_only = ['private_channel', 'formal', 'informal', 'emoji', 'small_talk'] -%}
    {%- set kept = (keep | join(',\n        ') ~ ',') if keep else '' -%}
    {%- set norm_steps = normalised_post_text_steps(text) -%}
    {#- Signals of a few case-insensitive rows only (no case-sensitive one, no more
        than a chunk) are "cued": one alternation of all their rows for each side's
        posts tells whether any can match, so a post without the cue skips their
        rules (most posts match none). A side's alternation stays within
        `max_cue_rules` rows: RE2 slows down sharply beyond some size. -#}
    {%- set max_cue_rules = 24 -%}
    {%- set cued = [] -%}
    {%- for signal in scored if prefilter -%}
        {%- set own = rules | selectattr('signal', 'equalto', signal) | list -%}
        {%- if own and not (own | selectattr('cs') | list) and own | length <= 8 -%}
            {%- do cued.append(signal) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set cue_patterns = {'customer': [], 'brand': []} -%}
    {%- for rule in rules if rule.signal in cued -%}
        {%- if rule.signal not in brand_only -%}{%- do cue_patterns.customer.append(rule.pattern) -%}{%- endif -%}
        {%- if rule.signal not in customer_only -%}{%- do cue_patterns.brand.append(rule.pattern) -%}{%- endif -%}
    {%- endfor -%}
    {%- set cue_of = {} -%}
    {%- for signal in cued -%}
        {%- set sides = [] -%}
        {%- if signal not in brand_only -%}{%- do sides.append('cw_customer_cue') -%}{%- endif -%}
        {%- if signal not in customer_only -%}{%- do sides.append('cw_brand_cue') -%}{%- endif -%}
        {%- do cue_of.update({signal: '(' ~ sides | join(' or ') ~ ')'}) -%}
    {%- endfor -%}

post_text_prepared as (

    select
        {{ kept }}
        {{ text }} as cw_text,
        {{ source_language }} as cw_source_language,
        cast({{ customer_post }} as boolean) as cw_is_customer,
        {{ text_without_urls(text) }} as cw_plain,
        {{ norm_steps[0] }} as cw_norm

    from {{ relation }}

),
{%- for step in norm_steps[1:] %}

post_text_normalised_{{ loop.index }} as (

    select
        {{ kept }}
        cw_text,
        cw_source_language,
        cw_is_customer,
        cw_plain,
        {{ step }} as cw_norm

    from {{ 'post_text_prepared' if loop.first else 'post_text_normalised_' ~ (loop.index - 1) }}

),
{%- endfor %}

post_words_counted as (

    -- words are only counted when the source did not say the language
    select
        *,
        case when cw_source_language in ('de', 'en') then 0
            else {{ signal_count(rules, 'lang_de') }} end as cw_de_words,
        case when cw_source_language in ('de', 'en') then 0
            else {{ signal_count(rules, 'lang_en') }} end as cw_en_words

    from {{ 'post_text_prepared' if norm_steps | length == 1 else 'post_text_normalised_' ~ (norm_steps | length - 1) }}

),

post_language_detected as (

    select
        *,
        case
            when cw_source_language in ('de', 'en') then cw_source_language
            when cw_de_words = 0 and cw_en_words = 0 then 'other'
            when cw_de_words >= cw_en_words then 'de'
            else 'en'
        end as cw_language,
        {%- if cue_patterns.customer and cue_patterns.customer | length <= max_cue_rules %}
        case when cw_is_customer is false then false
            else {{ any_pattern_ci(cue_patterns.customer) }} end as cw_customer_cue,
        {%- else %}
        true as cw_customer_cue,
        {%- endif %}
        {%- if cue_patterns.brand and cue_patterns.brand | length <= max_cue_rules %}
        case when cw_is_customer then false
            else {{ any_pattern_ci(cue_patterns.brand) }} end as cw_brand_cue
        {%- else %}
        true as cw_brand_cue
        {%- endif %}

    from post_words_counted

),

post_signals_scored as (

    select
        {{ kept }}
        cw_text,
        cw_language,
        {%- for signal in scored %}
        {%- if signal in customer_only %}
        case when cw_is_customer is false then 0.0 else {{ signal_score(rules, signal, cue_of.get(signal), prefilter) }} end
            as cw_{{ signal }}_score,
        {%- elif signal in brand_only %}
        case when cw_is_customer then 0.0 else {{ signal_score(rules, signal, cue_of.get(signal), prefilter) }} end
            as cw_{{ signal }}_score,
        {%- else %}
        {{ signal_score(rules, signal, cue_of.get(signal), prefilter) }} as cw_{{ signal }}_score,
        {%- endif %}
        {%- endfor %}
        case
            when cw_is_customer is false then 'other'
        {%- if topics and prefilter %}
            -- one scan tells whether any topic can match
            when not {{ any_pattern_ci(topics | map(attribute=1) | list) }} then 'other'
        {%- endif %}
        {%- for topic, pattern in topics %}
            when {{ regex_matches_ci('cw_norm', sql_string(normalised_pattern(pattern))) }}
                then '{{ topic }}'
        {%- endfor %}
            else 'other'
        end as cw_topic,
        {%- if signatures %}
        case when cw_is_customer then null else coalesce(
            {%- for pattern in signatures %}
            {{ regex_capture('cw_plain', sql_string(pattern)) }}{{ ',' if not loop.last }}
            {%- endfor %}
        ) end as cw_agent
        {%- else %}
        cast(null as varchar) as cw_agent
        {%- endif %}

    from post_language_detected

),

posts_classified as (

    select
        {{ kept }}
        case
            when cw_complaint_score >= 1 then 'complaint'
            when cw_question_score >= 1 then 'question'
            when cw_praise_score >= 1 then 'praise'
            else 'other'
        end as case_kind,
        cw_complaint_score >= 1 as is_complaint,
        cw_topic as topic,
        cw_language as language,
        cw_private_channel_score >= 1 as asks_private_channel,
        cw_technician_score >= 1 as mentions_technician,
        cw_resolved_score >= 1 as says_resolved,
        cw_unresolved_score >= 1 as says_unresolved,
        case
            when cw_formal_score >= 1 and cw_formal_score >= cw_informal_score then 'formal'
            when cw_informal_score >= 1 then 'informal'
            else 'none'
        end as address_form,
        {%- if stopwords %}
        case
            when {{ regex_matches_cs('cw_agent', sql_string('^(?:' ~ stopwords | join('|') ~ ')$')) }} then null
            else cw_agent
        end as agent,
        {%- else %}
        cw_agent as agent,
        {%- endif %}
        cw_emoji_score >= 1 as uses_emoji,
        cw_small_talk_score >= 1 as has_small_talk,
        {{ text_length('cw_text') }} as text_length,
        cast(cw_complaint_score as double) as complaint_score

    from post_signals_scored

)
{%- endmacro %}
