-- The floor: what carewatch's first-response numbers cost in plain DuckDB SQL.
--
-- Reads the normalised posts (JSON Lines) and computes, with no dlt, dbt or
-- Prefect, the first-response fields of `fct_complaints` and the calendar-FRT
-- columns of `sla_daily` (DESIGN.md "Metric definitions", DECISIONLOG.md).
-- It is written independently of the dbt models, so it doubles as a
-- correctness oracle: benchmarks/bench.py and tests/test_bench_floor.py check
-- that the pipeline publishes the same numbers.
--
-- Inputs, set up by the caller in the same connection before this script
-- (from carewatch.yml via carewatch.config.load_config, see bench.py):
--   variable posts_path     path (or list of paths) of the JSONL file(s)
--   table floor_cfg_brands  (brand_key, timezone, response_window_days)
--   table floor_cfg_accounts (handle lower-case, brand_key, role)
--   table floor_cfg_patterns (brand_key, watch_pattern, exclusion_pattern):
--                            one RE2 word pattern per brand (null = none)
-- Outputs: temp tables floor_fct_complaints and floor_sla_daily.
--
-- Statements are separated by lines ending in ';'. Watch terms are matched
-- with one constant regex per brand (a per-row pattern would compile the
-- regex for every row): the UNION of per-brand matches is assembled as text
-- from floor_cfg_patterns and run through query().

-- 1. Posts, cleaned as the loader does (platform and handles lower-case, '@'
--    stripped), with their author's brand role. Only customer posts keep their
--    text and mentions (nothing else reads them).
create or replace temp table floor_posts as
with source as (
    select
        lower(trim(platform)) as platform,
        post_id,
        lower(trim(ltrim(author_handle, '@'))) as author_handle,
        created_at,
        text,
        nullif(parent_post_id, '') as parent_post_id,
        mentioned_handles  -- normalised where they are matched (step 3)
    from read_json(
        getvariable('posts_path'),
        format = 'newline_delimited',
        columns = {
            platform: 'varchar',
            post_id: 'varchar',
            author_handle: 'varchar',
            created_at: 'timestamptz',
            text: 'varchar',
            parent_post_id: 'varchar',
            mentioned_handles: 'varchar[]'
        }
    )
)
select
    source.platform,
    source.post_id,
    source.author_handle,
    source.created_at,
    source.parent_post_id,
    acct.brand_key as author_brand_key,
    acct.role as author_role,
    acct.handle is null as is_customer,
    case when acct.handle is null then source.text end as text,
    case when acct.handle is null then source.mentioned_handles end as mentioned_handles
from source
left join floor_cfg_accounts as acct
    on source.author_handle = acct.handle;

-- 2. Conversations: walk down from the roots (posts whose parent is not in the
--    data), carrying each post's facts, its root, its parent's brand (a reply
--    to a brand post addresses that brand) and the author of the nearest
--    customer post above it (whose case a brand reply answers). Posts in a
--    reply cycle are never reached: they belong to no conversation.
create or replace temp table floor_threads as
with recursive tree(
    platform, post_id, author_handle, created_at, author_brand_key, author_role, is_customer,
    root_post_id, parent_brand_key, customer_handle_here_or_above, customer_above_handle
) as (
    select
        p.platform,
        p.post_id,
        p.author_handle,
        p.created_at,
        p.author_brand_key,
        p.author_role,
        p.is_customer,
        p.post_id,
        cast(null as varchar),
        case when p.is_customer then p.author_handle end,
        cast(null as varchar)
    from floor_posts as p
    where p.parent_post_id is null
        or not exists (
            select 1
            from floor_posts as parent
            where parent.platform = p.platform
                and parent.post_id = p.parent_post_id
        )
    union all
    select
        child.platform,
        child.post_id,
        child.author_handle,
        child.created_at,
        child.author_brand_key,
        child.author_role,
        child.is_customer,
        tree.root_post_id,
        tree.author_brand_key,
        case when child.is_customer then child.author_handle else tree.customer_handle_here_or_above end,
        tree.customer_handle_here_or_above
    from tree
    inner join floor_posts as child
        on child.platform = tree.platform
        and child.parent_post_id = tree.post_id
)
select * from tree;

-- 3. Mentions: (customer post, brand) by @-mention of a brand account, by reply
--    to a brand post, or by a watch term as a word without an exclusion.
set variable floor_term_sql = (
    select coalesce(
        string_agg(
            'select platform, post_id, ''' || replace(brand_key, '''', '''''') || ''' as brand_key'
            || ' from floor_posts where is_customer and regexp_matches(text, '''
            || replace(watch_pattern, '''', '''''') || ''', ''i'')'
            || case
                when exclusion_pattern is null then ''
                else ' and not regexp_matches(text, '''
                    || replace(exclusion_pattern, '''', '''''') || ''', ''i'')'
            end,
            ' union all '
            order by brand_key
        ),
        'select platform, post_id, cast(null as varchar) as brand_key from floor_posts where false'
    )
    from floor_cfg_patterns
    where watch_pattern is not null
);

create or replace temp table floor_mentions as
with handles as (
    select platform, post_id, lower(ltrim(handle, '@')) as handle
    from (
        select platform, post_id, unnest(mentioned_handles) as handle
        from floor_posts
        where is_customer
    )
),
matches as (
    select distinct handles.platform, handles.post_id, acct.brand_key, true as addressed
    from handles
    inner join floor_cfg_accounts as acct
        on handles.handle = acct.handle
    union all
    select platform, post_id, parent_brand_key, true
    from floor_threads
    where is_customer and parent_brand_key is not null
    union all
    select platform, post_id, brand_key, false
    from query(getvariable('floor_term_sql'))
)
select platform, post_id, brand_key
from matches
group by platform, post_id, brand_key;

-- 4. Cases: the first mention of a brand by a customer in a conversation
--    (ties on time broken by post id).
create or replace temp table floor_cases as
select
    m.platform,
    m.brand_key,
    t.root_post_id,
    t.author_handle as customer_handle,
    min({'at': t.created_at, 'id': t.post_id}) as opening
from floor_mentions as m
inner join floor_threads as t
    on m.platform = t.platform
    and m.post_id = t.post_id
group by m.platform, m.brand_key, t.root_post_id, t.author_handle;

-- 5. First responses: the earliest reply of a support account of the case's
--    brand whose nearest customer post above is the case's customer, in the
--    same conversation, not before the case opened.
create or replace temp table floor_first_responses as
select
    c.platform,
    c.brand_key,
    c.opening.id as opening_post_id,
    min({'at': r.created_at, 'id': r.post_id}) as response
from floor_threads as r
inner join floor_cases as c
    on c.platform = r.platform
    and c.root_post_id = r.root_post_id
    and c.brand_key = r.author_brand_key
    and c.customer_handle = r.customer_above_handle
where r.author_role = 'support'
    and r.created_at >= c.opening.at
group by c.platform, c.brand_key, c.opening.id;

-- 6. fct_complaints' first-response fields. The local day of opening needs the
--    brand's UTC offset; converting every case with ICU costs more than the rest
--    of this step, so offsets are looked up per brand and UTC hour (converted
--    once each) and only an hour in which the offset changes converts per case.
create or replace temp table floor_utc_offsets as
with hours as (
    select
        b.brand_key,
        b.timezone,
        unnest(generate_series(
            min(epoch_us(c.opening.at)) // 3600000000,
            max(epoch_us(c.opening.at)) // 3600000000
        )) as utc_hour
    from floor_cases as c
    inner join floor_cfg_brands as b
        on c.brand_key = b.brand_key
    group by b.brand_key, b.timezone
),
bounds as (
    select
        brand_key,
        utc_hour,
        make_timestamptz(utc_hour * 3600000000) as hour_start,
        make_timestamptz(utc_hour * 3600000000 + 3599999999) as hour_end,
        timezone
    from hours
)
select
    brand_key,
    utc_hour,
    epoch_us(timezone(timezone, hour_start)) - epoch_us(hour_start) as offset_us,
    epoch_us(timezone(timezone, hour_end)) - epoch_us(hour_end) <> offset_us as offset_changes
from bounds;

create or replace temp table floor_fct_complaints as
select
    c.platform,
    c.brand_key as brand,
    c.opening.id as opening_post_id,
    c.opening.at as opened_at,
    f.response.id as first_response_post_id,
    f.response.at as first_response_at,
    (epoch_us(f.response.at) - epoch_us(c.opening.at)) / 60000000.0 as first_response_minutes,
    case
        when o.offset_changes then cast(timezone(b.timezone, c.opening.at) as date)
        else cast(make_timestamp(epoch_us(c.opening.at) + o.offset_us) as date)
    end as opened_day,
    coalesce(
        (epoch_us(f.response.at) - epoch_us(c.opening.at)) / 60000000.0
            <= b.response_window_days * 1440,
        false
    ) as answered_within_window
from floor_cases as c
inner join floor_cfg_brands as b
    on c.brand_key = b.brand_key
inner join floor_utc_offsets as o
    on c.brand_key = o.brand_key
    and epoch_us(c.opening.at) // 3600000000 = o.utc_hour
left join floor_first_responses as f
    on c.platform = f.platform
    and c.brand_key = f.brand_key
    and c.opening.id = f.opening_post_id;

-- 7. sla_daily: per brand and local day of opening (the brand's time zone).
create or replace temp table floor_sla_daily as
select
    brand,
    opened_day as day,
    count(*) as cases,
    count(*) filter (where answered_within_window) as answered,
    quantile_cont(first_response_minutes, 0.5) as median_frt_minutes,
    quantile_cont(first_response_minutes, 0.9) as p90_frt_minutes
from floor_fct_complaints
group by brand, opened_day;
