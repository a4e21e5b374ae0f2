// One browser, several users (issue 16) on Odoo 14: the personal channel is a server-side tuple
// (`["tabbus","res.partner",7]`), which the items name as their `channel`, unlike 15's `{type, payload}`.
import { test } from '../support/fixtures';
import { declareUserTests } from '../support/users';

test.use({ odoo: 14 });

declareUserTests();
