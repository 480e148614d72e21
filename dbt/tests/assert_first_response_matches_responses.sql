-- Integrity across models: a case's first response in fct_complaints is the one
-- row of fct_responses flagged is_first_response, with the same elapsed minutes.
select
    complaints.case_id
from {{ ref('fct_complaints') }} as complaints
full outer join (
    select * from {{ ref('fct_responses') }} where is_first_response
) as responses
    on complaints.case_id = responses.case_id
where (complaints.first_response_post_id is not null or responses.post_id is not null)
    and (
        complaints.first_response_post_id is distinct from responses.post_id
        or abs(complaints.first_response_minutes - responses.minutes_since_open) > 1e-9
        or abs(complaints.first_response_business_minutes
               - responses.business_minutes_since_open) > 1e-9
    )
