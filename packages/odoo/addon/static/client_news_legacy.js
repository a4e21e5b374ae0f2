/*
 * tabbus_bus, Odoo 14, in the web client: the session news of session_news.js. Whose session this page is
 * (`scope`: after a login in another tab, the buses of the user it no longer belongs to check theirs and
 * stop); and the user menu's "Log out" (web.UserMenu) first tells every tabbus tab of this server, so the
 * user's tabs stop at once rather than poll on as a public session until their next session check. Then
 * Odoo logs out as it always does.
 */
odoo.define('tabbus_bus.client_news', ['web.UserMenu', 'web.session'], function (require) {
  'use strict';
  var UserMenu = require('web.UserMenu');
  var session = require('web.session');
  if (typeof window.tabbusSessionNews === 'function' && Number.isInteger(session.uid) && typeof session.db === 'string') {
    window.tabbusSessionNews({ kind: 'scope', db: session.db, uid: session.uid });
  }
  UserMenu.include({
    _onMenuLogout: function () {
      if (typeof window.tabbusSessionNews === 'function') window.tabbusSessionNews({ kind: 'logout' });
      return this._super.apply(this, arguments);
    },
  });
  return {};
});
