-- Business time can never exceed calendar time, nor be negative.
select case_id
from {{ ref('fct_complaints') }}
where first_response_business_minutes < 0
    or first_response_business_minutes > first_response_minutes + 1e-9
