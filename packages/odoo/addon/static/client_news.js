/*
 * tabbus_bus, Odoo 15 to 19, in the web client: the session news of session_news.js.
 * - Whose session this page is (`scope`), whether or not tabbus runs here (on Odoo's SharedWorker path it
 *   does not): after a login in another tab, the buses of the user it no longer belongs to check theirs and
 *   stop.
 * - The user menu's "Log out" first tells every tabbus tab of this server, so the user's tabs stop at once
 *   rather than poll on as a public session until their next session check. Then Odoo's own item does what
 *   it always does (navigate to /web/session/logout). Nothing of Odoo's is edited: the registry entry is
 *   wrapped.
 */
odoo.define('@tabbus_bus/client_news', ['@web/core/registry', '@web/session', '@web/webclient/user_menu/user_menu_items'], function (require) {
  'use strict';
  const { registry } = require('@web/core/registry');
  const { session } = require('@web/session');
  if (typeof window.tabbusSessionNews !== 'function') return {};
  // 18/19 move the user's id to `@web/core/user` (and delete it from the session once that module ran).
  const userModule = window.odoo && odoo.loader && odoo.loader.modules && odoo.loader.modules.get('@web/core/user');
  const uid = Number.isInteger(session.uid) ? session.uid : userModule && userModule.user && userModule.user.userId;
  if (Number.isInteger(uid) && typeof session.db === 'string') window.tabbusSessionNews({ kind: 'scope', db: session.db, uid });
  const items = registry.category('user_menuitems');
  if (!items.contains('log_out')) return {};
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
