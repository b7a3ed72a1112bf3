-- Reference data every installation starts with. Administrators change it
-- through the API; later migrations never overwrite their edits.

INSERT INTO settings (key, value) VALUES
    ('archive_pattern', '{org}-{kind}-{yyyy}-{seq:6}');

-- Purposes of use (R-C6).
INSERT INTO purposes (code, name_zh, name_en, active) VALUES
    ('service', '客户服务', 'Customer service', TRUE),
    ('kyc',     '身份识别与核实', 'Know your customer', TRUE),
    ('risk',    '风险管理', 'Risk management', TRUE),
    ('audit',   '审计检查', 'Audit', TRUE),
    ('legal',   '法律事务', 'Legal matters', TRUE),
    ('complaint', '投诉处理', 'Complaint handling', TRUE);

-- Customer categories.
INSERT INTO categories (code, name_zh, name_en, applies_to) VALUES
    ('retail',          '个人客户',     'Retail customer',          'person'),
    ('private_banking', '私人银行客户', 'Private banking customer', 'person'),
    ('corporate',       '对公客户',     'Corporate customer',       'institution'),
    ('trade',           '贸易客户',     'Trading customer',         ''),
    ('property_owner',  '物业业主',     'Property owner',           '');

-- Classification taxonomies (R-A8).
INSERT INTO taxonomies (code, name_zh, name_en, sort) VALUES
    ('lifecycle',       '客户时间分类', 'Lifecycle',            1),
    ('stage',           '交易阶段',     'Transaction stage',    2),
    ('nature',          '客户性质',     'Nature',               3),
    ('volume',          '交易量',       'Volume',               4),
    ('tier',            '客户等级',     'Tier',                 5),
    ('property_status', '物业状态',     'Property status',      6),
    ('aml_risk',        '洗钱风险等级', 'Money-laundering risk', 7);

INSERT INTO taxonomy_terms (taxonomy, code, name_zh, name_en, sort) VALUES
    ('lifecycle', 'old',         '老客户',   'Old customer',         1),
    ('lifecycle', 'new',         '新客户',   'New customer',         2),
    ('lifecycle', 'prospective', '潜在客户', 'Prospective customer', 3),
    ('stage', 'past',    '过去客户', 'Past',    1),
    ('stage', 'current', '现时客户', 'Current', 2),
    ('stage', 'future',  '未来客户', 'Future',  3),
    ('nature', 'government',      '政府机构',     'Government',         1),
    ('nature', 'special_partner', '特殊合作伙伴', 'Special partner',    2),
    ('nature', 'company',         '普通公司',     'Ordinary company',   3),
    ('nature', 'consumer',        '个人消费者',   'Consumer',           4),
    ('nature', 'partner',         '合作伙伴',     'Partner',            5),
    ('volume', 'key',       '重点客户', 'Key',       1),
    ('volume', 'general',   '一般客户', 'General',   2),
    ('volume', 'scattered', '零散客户', 'Scattered', 3),
    ('tier', 'important', '重要客户', 'Important', 1),
    ('tier', 'special',   '特殊客户', 'Special',   2),
    ('tier', 'general',   '一般客户', 'General',   3),
    ('property_status', 'keys_received',     '已收楼', 'Keys received',     1),
    ('property_status', 'keys_not_received', '未收楼', 'Keys not received', 2),
    ('property_status', 'special',           '特殊',   'Special',           3),
    ('aml_risk', 'low',    '低风险', 'Low',    1),
    ('aml_risk', 'medium', '中风险', 'Medium', 2),
    ('aml_risk', 'high',   '高风险', 'High',   3);

-- Document checklists per category (R-A9, R-A6).
INSERT INTO checklist_items (category, code, name_zh, name_en, required, sort) VALUES
    ('property_owner', 'purchase_contract', '购房合同',         'Purchase contract',            TRUE,  1),
    ('property_owner', 'id_copy',           '身份证复印件',     'ID copy',                      TRUE,  2),
    ('property_owner', 'resident_card',     '住户卡',           'Resident card',                TRUE,  3),
    ('property_owner', 'service_agreement', '物业服务协议',     'Property service agreement',   TRUE,  4),
    ('property_owner', 'management_rules',  '管理规约',         'Management rules',             TRUE,  5),
    ('property_owner', 'fire_pledge',       '消防安全责任书',   'Fire-safety pledge',           TRUE,  6),
    ('property_owner', 'move_in_record',    '入住记录',         'Move-in record',               FALSE, 7),
    ('property_owner', 'renovation_record', '装修记录',         'Renovation record',            FALSE, 8),
    ('retail',          'id_scan',          '身份证件影印件',   'ID document scan',             TRUE,  1),
    ('private_banking', 'id_scan',          '身份证件影印件',   'ID document scan',             TRUE,  1),
    ('private_banking', 'signing_file',     '签约文件',         'Signing file',                 TRUE,  2),
    ('corporate', 'licence',        '营业执照',             'Business licence',              TRUE, 1),
    ('corporate', 'legal_rep_id',   '法定代表人身份证件',   'Legal representative ID',       TRUE, 2),
    ('corporate', 'agent_auth',     '授权委托书',           'Letter of authorisation',       FALSE, 3),
    ('trade', 'licence',      '营业执照或身份证件', 'Licence or ID document', TRUE,  1),
    ('trade', 'contract',     '贸易合同',           'Trade contract',         FALSE, 2);
