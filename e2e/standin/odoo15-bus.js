// Stand-in for Odoo 14/15's legacy bus client (bus.Longpolling → bus.CrossTab → bus.BusService) with the
// public surface Odoo's callers use: addChannel, deleteChannel, startPolling, stopPolling, updateOption,
// isOdooFocused, isMasterTab, getTabId, onNotification/on/off/trigger, sendNotification, and the events
// 'notification', 'window_focus', 'become_master', 'no_longer_master'. Left to itself it polls from every
// tab and calls every tab master, as Odoo 8 did: what the addon must replace.
odoo.define('web.Class', [], function () {
  // Odoo's class system: extend() and include(), with this._super() calling the overridden method.
  const wrap = (parent, fn) =>
    function (...args) {
      const saved = this._super;
      this._super = parent;
      try {
        return fn.apply(this, args);
      } finally {
        this._super = saved;
      }
    };
  const mix = (proto, props) => {
    for (const [key, value] of Object.entries(props)) {
      proto[key] = typeof value === 'function' && typeof proto[key] === 'function' ? wrap(proto[key], value) : value;
    }
  };
  function Class() {}
  Class.extend = function (...mixins) {
    const Parent = this;
    function Child(...args) {
      if (this.init) this.init(...args);
    }
    Child.prototype = Object.create(Parent.prototype);
    Child.prototype.constructor = Child;
    for (const props of mixins) mix(Child.prototype, props);
    Child.extend = Class.extend;
    Child.include = function (props) {
      mix(this.prototype, props);
    };
    return Child;
  };
  return Class;
});

odoo.define('web.Bus', ['web.Class'], function (require) {
  // web.Bus: on(events, receiver, callback), off(events, receiver, callback), trigger(event, ...args).
  return require('web.Class').extend({
    init() {
      this._handlers = {};
    },
    on(events, receiver, callback) {
      for (const name of events.split(' ')) (this._handlers[name] = this._handlers[name] || []).push({ receiver, callback });
      return this;
    },
    off(events, receiver, callback) {
      for (const name of events.split(' ')) {
        this._handlers[name] = (this._handlers[name] || []).filter((h) => (receiver !== undefined && h.receiver !== receiver) || (callback && h.callback !== callback));
      }
      return this;
    },
    trigger(name, ...args) {
      for (const h of this._handlers[name] || []) h.callback.apply(h.receiver, args);
      return this;
    },
    destroy() {
      this._handlers = {};
    },
  });
});

odoo.define('web.session', [], function () {
  // Odoo fills web.session from the session info the page was served with.
  return Object.assign({}, odoo.__session_info__);
});

odoo.define('web.core', [], function () {
  const map = {};
  return { serviceRegistry: { map, add: (name, Service) => void (map[name] = Service), get: (name) => map[name] } };
});

odoo.define('bus.Longpolling', ['web.Bus', 'web.session'], function (require) {
  const session = require('web.session');
  // Odoo's own code is per series; the stand-in plays 14 or 15 as the server says (15 on a page told nothing).
  const version = (session.server_version_info || [15])[0];
  return require('web.Bus').extend({
    POLL_ROUTE: '/longpolling/poll',
    ERROR_RETRY_DELAY: 10000,
    init() {
      this._super();
      this._channels = [];
      this._options = {};
      this._lastNotificationID = 0;
      this._isActive = false;
      this._isOdooFocused = true;
    },
    addChannel(channel) {
      if (this._channels.includes(channel)) return;
      this._channels.push(channel);
      this._abort?.abort();
      this.startPolling();
    },
    deleteChannel(channel) {
      this._channels = this._channels.filter((c) => c !== channel);
      this._abort?.abort();
    },
    isOdooFocused() {
      return this._isOdooFocused;
    },
    startPolling() {
      if (this._isActive) return;
      this._isActive = true;
      this._poll();
    },
    stopPolling() {
      this._isActive = false;
      this._channels = [];
      this._abort?.abort();
    },
    updateOption(key, value) {
      this._options[key] = value;
    },
    async _poll() {
      if (!this._isActive) return;
      this._abort = new AbortController();
      try {
        const params = { channels: this._channels, last: this._lastNotificationID, options: { ...this._options, bus_inactivity: 0 } };
        const response = await fetch(this.POLL_ROUTE, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', method: 'call', params }), signal: this._abort.signal });
        const { result } = await response.json();
        this._onPoll(result);
      } catch (error) {
        if (error.name !== 'AbortError') return void setTimeout(() => this._poll(), this.ERROR_RETRY_DELAY);
      }
      this._poll();
    },
    _onPoll(notifications) {
      const notifs = notifications.map((n) => {
        this._lastNotificationID = Math.max(this._lastNotificationID, n.id);
        return version >= 15 ? n.message : [n.channel, n.message];
      });
      this.trigger('notification', notifs);
      return notifs;
    },
  });
});

odoo.define('bus.CrossTab', ['bus.Longpolling'], function (require) {
  // The real one elects a master over localStorage; this stand-in leaves every tab master.
  let next = 0;
  return require('bus.Longpolling').extend({
    init() {
      this._super();
      this._id = `tab${next++}:${Date.now()}`;
    },
    getTabId() {
      return this._id;
    },
    isMasterTab() {
      return true;
    },
  });
});

odoo.define('bus.BusService', ['bus.CrossTab', 'web.core'], function (require) {
  const BusService = require('bus.CrossTab').extend({
    dependencies: ['local_storage'],
    init(env) {
      this._super();
      this.env = env;
    },
    start() {},
    onNotification(receiver, callback) {
      return this.on('notification', receiver, callback);
    },
    /** Mail's path to the "ting" and the desktop notification: both only in the master tab. */
    sendNotification(options) {
      (this.env.toasts = this.env.toasts || []).push(options);
      if (this.isMasterTab()) this._beep();
    },
    _beep() {
      this.env.beeps = (this.env.beeps || 0) + 1;
    },
  });
  require('web.core').serviceRegistry.add('bus_service', BusService);
  return BusService;
});
