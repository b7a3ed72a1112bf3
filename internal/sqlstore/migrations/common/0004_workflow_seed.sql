-- Who approves what, by default (R-A10, R-B1, R-C1, R-H1). Administrators
-- change these through the API.
INSERT INTO approval_rules (kind, roles, scope, required, ttl_seconds) VALUES
    ('onboarding',      'manager,general_manager', 'unit', 1, 2592000),
    ('customer_change', 'manager,general_manager', 'unit', 1, 1209600),
    ('access',          'general_manager',         'any',  1, 604800),
    ('paper_loan',      'manager,general_manager', 'unit', 1, 604800);
