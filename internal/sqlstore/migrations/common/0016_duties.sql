-- Separation of duties (三员分立, GB/T 22239-2019): the approvers of the
-- governance requests a single administrator must not decide alone, and of
-- closing a customer relationship (R-F1). No rule may go below the floors
-- of custos.ApprovalFloors; a destruction rule lowered before this
-- migration is raised back to two approvers.
INSERT INTO approval_rules (kind, roles, scope, required, ttl_seconds) VALUES
    ('closure',            'manager,general_manager,compliance',        'unit', 1, 1209600),
    ('privileged_account', 'security_admin,general_manager',            'any',  1, 604800),
    ('approval_rule',      'security_admin,general_manager',            'any',  1, 604800),
    ('retention_policy',   'security_admin,compliance,general_manager', 'any',  1, 604800);
UPDATE approval_rules SET required = 2 WHERE kind = 'destruction' AND required < 2;
