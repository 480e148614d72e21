-- Integrity across models: a case's first response in fct_complaints is the one
-- row of fct_responses flagged is_first_response, with the same elapsed minutes.
-- A case and its responses share a conversation, so they are rebuilt together:
-- the cycle compares the rows it rebuilt (macros/test_scope.sql).
select
    complaints.case_id
from {{ rows_to_test(ref('fct_complaints')) }} as complaints
full outer join (
    select * from {{ rows_to_test(ref('fct_responses')) }} where is_first_response
) as responses
    on complaints.case_id = responses.case_id
where (complaints.first_response_post_id is not null or responses.post_id is not null)
    and (
        complaints.first_response_post_id is distinct from responses.post_id
        or abs(complaints.first_response_minutes - responses.minutes_since_open) > 1e-9
        or abs(complaints.first_response_business_minutes
               - responses.business_minutes_since_open) > 1e-9
    )
