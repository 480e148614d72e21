-- Integrity across models: a case's reply counts in fct_complaints (which the
-- formal/informal shares of sla_daily and sla_overall add up) are its rows in
-- fct_responses. A case and its replies are rebuilt together, so the cycle
-- compares the rows it rebuilt (macros/test_scope.sql).
with

replies as (

    select
        case_id,
        count(*) as responses,
        count(case when address_form = 'formal' then 1 end) as formal_responses,
        count(case when address_form = 'informal' then 1 end) as informal_responses
    from {{ rows_to_test(ref('fct_responses')) }}
    group by case_id

)

select complaints.case_id
from {{ rows_to_test(ref('fct_complaints')) }} as complaints
left join replies
    on complaints.case_id = replies.case_id
where complaints.responses <> coalesce(replies.responses, 0)
    or complaints.formal_responses <> coalesce(replies.formal_responses, 0)
    or complaints.informal_responses <> coalesce(replies.informal_responses, 0)
