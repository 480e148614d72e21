-- sla_status agrees with the business first response time and the target.
select case_id
from {{ ref('fct_complaints') }}
where (first_response_at is not null and sla_status
        <> case when first_response_business_minutes <= sla_target_minutes then 'met' else 'breached' end)
    or (first_response_at is null and sla_status = 'met')
