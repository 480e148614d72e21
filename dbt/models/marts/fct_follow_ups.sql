-- One row per follow-up event after the first response: a view of the
-- incremental int_follow_ups_detected, so a cycle copies nothing here.
{{ config(materialized='view') }}
with

follow_ups as (

    select * from {{ ref('int_follow_ups_detected') }}

),

final as (

    select
        follow_up_id,
        case_id,
        platform,
        post_id,
        event_type,
        occurred_at,
        minutes_since_open,
        built_at,
        config_version

    from follow_ups

)

select * from final
