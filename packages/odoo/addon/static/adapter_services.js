/*
 * tabbus_bus, Odoo 17 and 18: puts tabbus's WebSocket transport under Odoo's `bus_service`.
 *
 * Odoo shares one socket per browser through a SharedWorker; where there is none (Chrome on Android, the
 * iOS app, some Safari setups) every tab opens its own Worker and socket. This service keeps Odoo's own on
 * the SharedWorker path and takes the other path (or every path, with the `tabbus.websocket` setting at
 * `always`): one socket per browser through tabbus's election, behind the same API (addChannel,
 * deleteChannel, subscribe, addEventListener('notification' | 'connect' | 'reconnect' | 'disconnect' |
 * 'reconnecting'), start, stop, send...). `multi_tab.isOnMainTab()` then answers "this tab leads", so mail
 * plays its sound in the tab that holds the socket.
 *
 * Written as a plain `odoo.define(name, deps, factory)` module (the form Odoo's module loader runs as is);
 * nothing of Odoo's is edited. On a version it does not know, or without `TabBus`, it changes nothing.
 */
odoo.define('@tabbus_bus/bus_service', ['@web/core/registry', '@bus/services/bus_service', '@web/session', '@odoo/owl', '@web/core/browser/browser'], function (require) {
  'use strict';
  const { registry } = require('@web/core/registry');
  const { busService } = require('@bus/services/bus_service');
  const { session } = require('@web/session');
  const { EventBus } = require('@odoo/owl');
  const { browser } = require('@web/core/browser/browser');

  const version = (session.server_version_info || [])[0];
  if (typeof window.TabBus !== 'object') {
    console.warn("tabbus_bus: the TabBus script is missing from the assets; Odoo's own bus stays in place");
    return {};
  }
  if (version !== 17 && version !== 18) {
    console.warn(`tabbus_bus: this adapter is for Odoo 17 and 18, not ${version}; Odoo's own bus stays in place`);
    return {};
  }
  const settings = session.tabbus || {};

  /** Odoo's bus_service, on tabbus: the same members, one socket per browser. */
  function startTabbus(env, { multi_tab: multiTab, notification }) {
    const bus = new EventBus();
    const notificationBus = new EventBus();
    const listeners = new Map();
    const tabbus = window.TabBus.createOdooBus({
      version,
      uid: Number.isInteger(session.uid) ? session.uid : undefined,
      db: session.db,
      start: false,
      websocketWorkerVersion: session.websocket_worker_version,
      hiddenPace: settings.hidden_pace,
      preferVisibleLeader: settings.prefer_visible_leader,
      hiddenSocketClose: settings.hidden_socket_close,
    });
    let connected = false;
    let everConnected = false;
    let leading = false;
    tabbus.on('state', (state) => {
      // The connection's events, from the state the leader relays to every tab.
      if (state.transport === 'open' && !connected) {
        connected = true;
        bus.trigger(everConnected ? 'reconnect' : 'connect');
        everConnected = true;
      } else if (connected && (state.transport === 'backoff' || state.transport === 'connecting' || state.transport === 'offline')) {
        connected = false;
        bus.trigger('disconnect', { code: 1006, reason: state.lastError ? state.lastError.message : '' });
        bus.trigger('reconnecting', { closeCode: 1006 });
      }
      const leads = state.role === 'leader' || state.role === 'solo';
      if (leads !== leading) {
        leading = leads;
        multiTab.bus.trigger(leads ? 'become_main_tab' : 'no_longer_main_tab');
      }
    });
    tabbus.on('notification', (items) => {
      const messages = items.map((item) => ({ id: item.id, type: item.type, payload: item.payload }));
      if (version < 18) bus.trigger('notification', messages);
      for (const message of messages) notificationBus.trigger(message.type, message);
    });
    tabbus.on('outdated', () => {
      multiTab.unregister?.();
      notification.add('The page is out of date: save your work and refresh to get the latest updates.', {
        title: 'Refresh',
        type: 'warning',
        sticky: true,
        buttons: [{ name: 'Refresh', primary: true, onClick: () => browser.location.reload() }],
      });
    });
    // The main tab is the one that holds the socket: mail's sound and desktop notifications play there.
    multiTab.isOnMainTab = () => leading;

    const start = () => (tabbus.state().role === 'stopped' ? tabbus.start().catch((error) => console.warn(error.message)) : Promise.resolve());
    let warnedSend = false;
    return {
      addEventListener: bus.addEventListener.bind(bus),
      removeEventListener: bus.removeEventListener.bind(bus),
      trigger: bus.trigger.bind(bus),
      addChannel(channel) {
        tabbus.addChannel(channel);
        return start();
      },
      deleteChannel(channel) {
        tabbus.deleteChannel(channel);
      },
      /** The leader re-subscribes by itself whenever the union of every tab's channels changes. */
      forceUpdateChannels() {},
      /** `update_presence` is sent by the leader for the whole browser; other events have no route here. */
      send(eventName) {
        if (eventName === 'update_presence' || warnedSend) return;
        warnedSend = true;
        console.warn(`tabbus_bus: bus_service.send('${eventName}') is not forwarded (only subscribe and presence go to the server)`);
      },
      subscribe(type, callback) {
        const listener = ({ detail }) => callback(detail.payload, { id: detail.id });
        listeners.set(callback, listener);
        notificationBus.addEventListener(type, listener);
      },
      unsubscribe(type, callback) {
        const listener = listeners.get(callback);
        if (listener) notificationBus.removeEventListener(type, listener);
        listeners.delete(callback);
      },
      start,
      stop() {
        void tabbus.stop();
      },
      get isActive() {
        return tabbus.state().role !== 'stopped';
      },
      get lastNotificationId() {
        return tabbus.state().cursor;
      },
      startedAt: window.luxon ? window.luxon.DateTime.now() : undefined,
      /** The tabbus bus itself: state(), once(), shared(). */
      tabbus,
    };
  }

  const tabbusBusService = {
    dependencies: busService.dependencies,
    async: busService.async,
    start(env, deps) {
      // Odoo's SharedWorker already gives one socket per browser: keep it unless told otherwise.
      if (settings.websocket !== 'always' && typeof browser.SharedWorker === 'function') return busService.start(env, deps);
      return startTabbus(env, deps);
    },
  };
  registry.category('services').add('bus_service', tabbusBusService, { force: true });
  return { tabbusBusService };
});
