/*
 * tabbus_bus, Odoo 15 to 19: the user menu's "Log out" first tells every tabbus tab of this server (the
 * session news of session_news.js), so the user's tabs stop at once rather than poll on as a public
 * session until their next session check. Then Odoo's own item does what it always does (navigate to
 * /web/session/logout). Nothing of Odoo's is edited: the registry entry is wrapped.
 */
odoo.define('@tabbus_bus/logout_menu', ['@web/core/registry', '@web/webclient/user_menu/user_menu_items'], function (require) {
  'use strict';
  const { registry } = require('@web/core/registry');
  const items = registry.category('user_menuitems');
  if (!items.contains('log_out') || typeof window.tabbusSessionNews !== 'function') return {};
  const logOutItem = items.get('log_out');
  items.add('log_out', (env) => {
    const item = logOutItem(env);
    const callback = item.callback;
    return Object.assign({}, item, {
      callback: (...args) => {
        window.tabbusSessionNews({ kind: 'logout' });
        return callback(...args);
      },
    });
  }, { force: true });
  return {};
});
