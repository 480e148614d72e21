-- Follow-up events happen at or after the case's first response. A case's
-- follow-ups are rebuilt with it: the cycle checks the rebuilt ones.
select follow_ups.follow_up_id
from {{ rows_to_test(ref('fct_follow_ups')) }} as follow_ups
inner join {{ ref('fct_complaints') }} as complaints
    on follow_ups.case_id = complaints.case_id
where complaints.first_response_at is null
    or follow_ups.occurred_at < complaints.first_response_at
