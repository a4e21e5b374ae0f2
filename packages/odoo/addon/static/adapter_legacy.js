/*
 * tabbus_bus, Odoo 14 and 15: puts tabbus under Odoo's legacy bus service (`bus.BusService`, which
 * extends `bus.CrossTab` and `bus.Longpolling`). Odoo's callers keep calling addChannel, deleteChannel,
 * startPolling, stopPolling, onNotification, isMasterTab, updateOption...; the connection, the election,
 * the cursor and the pacing are tabbus's (the global `TabBus`, loaded just before this file).
 *
 * Nothing of Odoo's is edited: the service class is patched with `include` when this module loads, before
 * the web client creates its services. On a version it does not know, or without `TabBus`, it changes
 * nothing and says why in the console.
 */
odoo.define('tabbus_bus.adapter', ['web.Bus', 'bus.BusService', 'web.session'], function (require) {
  'use strict';
  var Bus = require('web.Bus');
  var BusService = require('bus.BusService');
  var session = require('web.session');

  var version = (session.server_version_info || [])[0];
  if (typeof window.TabBus !== 'object') {
    console.warn('tabbus_bus: the TabBus script is missing from the assets; Odoo\'s own bus stays in place');
    return {};
  }
  // A page whose session info names no version: the website and the login page (14/15 give the frontend
  // none). Odoo's own bus stays, and it is no mistake to say anything about.
  if (version === undefined) return {};
  if (version !== 14 && version !== 15) {
    console.warn('tabbus_bus: this adapter is for Odoo 14 and 15, not ' + version + '; Odoo\'s own bus stays in place');
    return {};
  }
  var settings = session.tabbus || {};

  /** Which tab of this Odoo has the focus (its tabbus id), shared through localStorage as CrossTab shares its `focus`. */
  var focusKey = 'tabbus:' + location.origin + ':focus';
  function readFocus() {
    try {
      return localStorage.getItem(focusKey);
    } catch (error) {
      return null;
    }
  }
  function writeFocus(tabId) {
    try {
      if (tabId === null) localStorage.removeItem(focusKey);
      else localStorage.setItem(focusKey, tabId);
    } catch (error) {
      // Storage that throws shares nothing: each tab knows its own focus only.
    }
  }

  /** Odoo's handlers expect [channel, message] pairs on 14 and {type, payload} on 15. */
  function odooShape(item) {
    return version >= 15 ? { type: item.type, payload: item.payload } : [item.channel, item.message];
  }

  BusService.include({
    init: function (env) {
      // Only the event bus of web.Bus: the long-polling and the localStorage election of CrossTab stay off.
      Bus.prototype.init.call(this);
      this.env = env;
      this._options = {};
      this._isOdooFocused = true;
      this._tabbusRole = 'stopped';
      var self = this;
      this._tabbus = window.TabBus.createOdooBus({
        version: version,
        uid: session.uid === undefined ? undefined : session.uid || false,
        db: session.db,
        start: false,
        hiddenPace: settings.hidden_pace,
        preferVisibleLeader: settings.prefer_visible_leader,
      });
      this._tabbus.on('notification', function (items) {
        self.trigger('notification', items.map(odooShape));
      });
      this._tabbus.on('state', function (state) {
        // A page attribute says which tab holds the connection (devtools, and the real-Odoo check).
        document.documentElement.dataset.tabbusRole = state.role;
        var master = state.role === 'leader' || state.role === 'solo';
        var was = self._tabbusRole === 'leader' || self._tabbusRole === 'solo';
        self._tabbusRole = state.role;
        if (master && !was) self.trigger('become_master');
        if (was && !master) self.trigger('no_longer_master');
      });
      this._tabbus.on('error', function (error) {
        if (error.fatal) console.warn(error.message);
      });
      // Odoo's CrossTab shares the focus: isOdooFocused() is true while any Odoo tab of the browser has it,
      // so mail notifies (ting, desktop notification, title counter) only when the user is in none. The tab
      // that has the focus keeps its id under focusKey (a blur after the next tab's focus leaves it be).
      this._onFocus = function () {
        writeFocus(self._tabbus.tabId);
        self._setFocus(true, true);
      };
      this._onBlur = function () {
        if (readFocus() === self._tabbus.tabId) writeFocus(null);
        self._setFocus(readFocus() !== null);
      };
      this._onStorage = function (event) {
        // Read again rather than trust the event: another tab's blur can arrive after this tab's own focus
        // wrote its id (storage events are delivered late), and the value now is what counts.
        if (event.key === focusKey) self._setFocus(readFocus() !== null);
      };
      this._onPagehide = function () {
        if (readFocus() === self._tabbus.tabId) writeFocus(null);
      };
      window.addEventListener('focus', this._onFocus);
      window.addEventListener('blur', this._onBlur);
      window.addEventListener('storage', this._onStorage);
      window.addEventListener('pagehide', this._onPagehide);
    },
    /** The application's channels (Odoo adds the user's own server-side); the leader polls the union. */
    addChannel: function (channel) {
      this._tabbus.addChannel(channel);
    },
    deleteChannel: function (channel) {
      this._tabbus.deleteChannel(channel);
    },
    startPolling: function () {
      if (this._tabbusRole === 'stopped') this._tabbus.start().catch(function (error) { console.warn(error.message); });
    },
    stopPolling: function () {
      this._tabbus.stop();
    },
    /** True in exactly one tab of the browser: mail's sound and desktop notification play there. */
    isMasterTab: function () {
      return this._tabbusRole === 'leader' || this._tabbusRole === 'solo';
    },
    getTabId: function () {
      return this._tabbus.tabId;
    },
    isOdooFocused: function () {
      return this._isOdooFocused;
    },
    /** Kept for callers; presence (`bus_inactivity`) is sent by tabbus for the whole browser. */
    updateOption: function (key, value) {
      this._options[key] = value;
    },
    getOption: function (key) {
      return this._options[key];
    },
    deleteOption: function (key) {
      delete this._options[key];
    },
    destroy: function () {
      window.removeEventListener('focus', this._onFocus);
      window.removeEventListener('blur', this._onBlur);
      window.removeEventListener('storage', this._onStorage);
      window.removeEventListener('pagehide', this._onPagehide);
      this._tabbus.stop();
      Bus.prototype.destroy.call(this);
    },
    /** Odoo triggers `window_focus` on each focus of this tab, and on each change another tab makes. */
    _setFocus: function (focused, local) {
      if (focused === this._isOdooFocused && !local) return;
      this._isOdooFocused = focused;
      this.trigger('window_focus', focused);
    },
    /** The tabbus bus itself, for code that wants its state or once(). */
    tabbus: function () {
      return this._tabbus;
    },
  });
  return { tabbus: true };
});
