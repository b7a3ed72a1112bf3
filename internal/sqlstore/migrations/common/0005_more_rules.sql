-- Approvers of corrections asked for by customers (R-B5), exports to outside
-- parties (R-C7), releases of legal holds (R-F2) and destructions, which
-- need two distinct approvers (R-F3).
INSERT INTO approval_rules (kind, roles, scope, required, ttl_seconds) VALUES
    ('correction',   'manager,general_manager',    'unit', 1, 2592000),
    ('export',       'compliance,general_manager', 'any',  1, 604800),
    ('hold_release', 'compliance,general_manager', 'any',  1, 2592000),
    ('destruction',  'compliance,general_manager', 'any',  2, 2592000);
