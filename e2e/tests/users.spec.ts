// One browser, several users (issue 16), on the project's transport: Odoo 15 long-polling and Odoo 17
// WebSocket. The scenarios live in support/users.ts, shared with users-odoo14.spec.ts.
import { declareUserTests } from '../support/users';

declareUserTests();
