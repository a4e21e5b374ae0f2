/*
 * tabbus_bus, Odoo 14: the user menu's "Log out" (web.UserMenu) first tells every tabbus tab of this
 * server (the session news of session_news.js), so the user's tabs stop at once rather than poll on as a
 * public session until their next session check. Then Odoo logs out as it always does.
 */
odoo.define('tabbus_bus.logout', ['web.UserMenu'], function (require) {
  'use strict';
  var UserMenu = require('web.UserMenu');
  UserMenu.include({
    _onMenuLogout: function () {
      if (typeof window.tabbusSessionNews === 'function') window.tabbusSessionNews({ kind: 'logout' });
      return this._super.apply(this, arguments);
    },
  });
  return {};
});
