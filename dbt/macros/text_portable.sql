{#-
    Engine-specific text functions the classifier needs, behind adapter.dispatch
    (the regex match and capture helpers themselves live in portable.sql).
    DuckDB is the default; PostgreSQL and Spark get their own variants where
    the function names or flags differ.
-#}

{# `text` with URLs removed (case, @handles and everything else kept), trimmed. #}
{% macro text_without_urls(text) -%}
    {{ return(adapter.dispatch('text_without_urls', 'carewatch')(text)) }}
{%- endmacro %}
{% macro default__text_without_urls(text) -%}
    {#- the regex only runs on text that can hold a URL (most posts have none), and
        trim only where it can change the text: it removes space separators, in ASCII
        text only ' ' (trim costs ~0.9 s per 5M posts, the guard a tenth of it) -#}
    case
        when contains({{ text }}, 'http') or contains({{ text }}, 'www.')
            then trim(regexp_replace({{ text }}, '(?:https?://|www\.)[^\s]+', ' ', 'g'))
        when strlen({{ text }}) = length({{ text }})
            and not prefix({{ text }}, ' ') and not suffix({{ text }}, ' ')
            then {{ text }}
        else trim(coalesce({{ text }}, ''))
    end
{%- endmacro %}
{% macro spark__text_without_urls(text) -%}
    trim(regexp_replace(coalesce({{ text }}, ''), '(?:https?://|www\\.)[^\\s]+', ' '))
{%- endmacro %}

{#
    The form case-insensitive lexicon patterns are matched against: lower case,
    URLs and @handles removed, '#' dropped (so "#Störung" reads as a word),
    typographic apostrophes made plain, umlauts and ß spelt ae/oe/ue/ss (so one
    pattern covers "Störung" and "Stoerung", and `\b` works on every letter),
    padded with a space at both ends.

    Given as steps: a list of SQL expressions, the first over `text`, each later
    one over the column `cw_norm` the step before produced. The classifier chains
    them as CTEs (nested into one expression, each step would repeat the whole
    text of the one before).
#}
{% macro normalised_post_text_steps(text) -%}
    {{ return(adapter.dispatch('normalised_post_text_steps', 'carewatch')(text)) }}
{%- endmacro %}
{% macro default__normalised_post_text_steps(text) -%}
    {#- Each step runs only on text it can change (a URL needs "http" or "www.", a
        handle "@", each replaced character itself): a `contains` costs a fifth of a
        regexp_replace, and skipping the replaces no post needs took this from 0.64 s
        to 0.37 s per 1M posts in DuckDB. There a regexp_replace of a literal is
        faster than replace, with the same result. -#}
    {%- set steps = [
        "lower(coalesce(" ~ text ~ ", ''))",
        "case when contains(cw_norm, 'http') or contains(cw_norm, 'www.')
            then regexp_replace(cw_norm, '(?:https?://|www\\.)[^\\s]+', ' ', 'g') else cw_norm end",
        "case when contains(cw_norm, '@') then regexp_replace(cw_norm, '@[a-z0-9_.]+', ' ', 'g') else cw_norm end",
    ] -%}
    {%- for character, spelling in [('#', ''), ('ä', 'ae'), ('ö', 'oe'), ('ü', 'ue'), ('ß', 'ss'), ('’', "''"), ('‘', "''")] -%}
        {%- do steps.append("case when contains(cw_norm, '" ~ character ~ "') then regexp_replace(cw_norm, '"
            ~ character ~ "', '" ~ spelling ~ "', 'g') else cw_norm end") -%}
    {%- endfor -%}
    {%- do steps.append("' ' || cw_norm || ' '") -%}
    {{ return(steps) }}
{%- endmacro %}
{% macro spark__normalised_post_text_steps(text) -%}
    {%- set expression -%}
    concat(' ', replace(replace(replace(replace(replace(replace(replace(
        regexp_replace(
            regexp_replace(lower(coalesce({{ text }}, '')), '(?:https?://|www\\.)[^\\s]+', ' '),
            '@[a-z0-9_.]+', ' '
        ),
        'ä', 'ae'), 'ö', 'oe'), 'ü', 'ue'), 'ß', 'ss'), '#', ''), '’', ''''), '‘', ''''), ' ')
    {%- endset -%}
    {{ return([expression]) }}
{%- endmacro %}

{# Number of non-overlapping matches of `pattern` in `text`, case-insensitive. #}
{% macro regex_count_ci(text, pattern) -%}
    {{ return(adapter.dispatch('regex_count_ci', 'carewatch')(text, pattern)) }}
{%- endmacro %}
{% macro default__regex_count_ci(text, pattern) -%}
    len(regexp_extract_all({{ text }}, '(?i)' || {{ pattern }}))
{%- endmacro %}
{% macro postgres__regex_count_ci(text, pattern) -%}
    regexp_count({{ text }}, {{ pattern }}, 1, 'i')
{%- endmacro %}
{% macro spark__regex_count_ci(text, pattern) -%}
    size(regexp_extract_all({{ text }}, concat('(?i)', {{ pattern }}), 0))
{%- endmacro %}

{# Length of `text` in characters. #}
{% macro text_length(text) -%}
    {{ return(adapter.dispatch('text_length', 'carewatch')(text)) }}
{%- endmacro %}
{% macro default__text_length(text) -%}
    length(coalesce({{ text }}, ''))
{%- endmacro %}

{#
    A lexicon pattern (written in RE2 syntax, as DuckDB and Spark read it) in
    the engine's own regex dialect. Applied at compile time to the seed text.
#}
{% macro regex_pattern_for_engine(pattern) -%}
    {{ return(adapter.dispatch('regex_pattern_for_engine', 'carewatch')(pattern)) }}
{%- endmacro %}
{% macro default__regex_pattern_for_engine(pattern) -%}
    {{ return(pattern) }}
{%- endmacro %}
{% macro postgres__regex_pattern_for_engine(pattern) -%}
    {#- PostgreSQL AREs: \y is the word boundary (\b is backspace), POSIX classes for
        Unicode letter categories, \xhhhhh for code points written \x{hhhhh}. -#}
    {%- set p = pattern | replace('\\b', '\\y')
        | replace('\\p{Lu}', '[[:upper:]]') | replace('\\p{Ll}', '[[:lower:]]')
        | replace('\\pL', '[:alpha:]') | replace('\\pN', '[:digit:]')
        | replace('\\p{So}', '') | replace('\\p{Sk}', '') | replace('\\p{Mn}', '') | replace('\\p{Cf}', '') -%}
    {%- set p = modules.re.sub('\\\\x\\{([0-9A-Fa-f]+)\\}', '\\\\x\\1', p) -%}
    {{ return(p) }}
{%- endmacro %}
