/*
 * tabbus_bus, Odoo 16 to 19: puts tabbus's WebSocket transport under Odoo's `bus_service`.
 *
 * Odoo shares one socket per browser through a SharedWorker; where there is none (Chrome on Android, the
 * iOS app, some Safari setups) every tab opens its own Worker and socket. This service keeps Odoo's own on
 * the SharedWorker path and takes the other path (or every path, with the `tabbus.websocket` setting at
 * `always`): one socket per browser through tabbus's election, behind the same API (addChannel,
 * deleteChannel, subscribe, addEventListener for the connection events, start, stop, send...).
 * `multi_tab.isOnMainTab()` then answers "this tab holds the socket", so mail plays its sound and shows its
 * desktop notification in that tab only.
 *
 * The series differ in small ways, all in SERIES below (read from each series' public bus source): the
 * names of the connection events (19 prefixes them with `BUS:`), whether a `notification` event carries
 * every batch (16, 17) or only `subscribe()` does (18, 19), which service keeps the shared
 * `last_notification_id` (`multi_tab` up to 18, `legacy_multi_tab` on 19), whether `isOnMainTab()` answers
 * at once or with a promise (19), and whether Odoo itself falls back to a Worker on the iOS app (16–18).
 *
 * Written as a plain `odoo.define(name, deps, factory)` module (the form Odoo's module loader runs as is);
 * nothing of Odoo's is edited. On a version it does not know, or without `TabBus`, it changes nothing.
 */
odoo.define('@tabbus_bus/bus_service', ['@web/core/registry', '@bus/services/bus_service', '@web/session', '@odoo/owl', '@web/core/browser/browser', '@web/core/browser/feature_detection'], function (require) {
  'use strict';
  const { registry } = require('@web/core/registry');
  const { busService } = require('@bus/services/bus_service');
  const { session } = require('@web/session');
  const { EventBus, reactive, markRaw } = require('@odoo/owl');
  const { browser } = require('@web/core/browser/browser');
  const { isIosApp } = require('@web/core/browser/feature_detection');

  const plainEvents = { connect: 'connect', reconnect: 'reconnect', disconnect: 'disconnect', reconnecting: 'reconnecting' };
  /** What each series' bus client does differently, as far as the adapter is concerned. */
  const SERIES = {
    16: { events: plainEvents, notificationEvent: true, stateEvent: null, sharedValues: 'multi_tab', mainTabPromise: false, iosUsesWorker: true, copyPayload: false, reactiveService: false, workerElection: false },
    17: { events: plainEvents, notificationEvent: true, stateEvent: null, sharedValues: 'multi_tab', mainTabPromise: false, iosUsesWorker: true, copyPayload: false, reactiveService: false, workerElection: false },
    18: { events: plainEvents, notificationEvent: false, stateEvent: 'worker_state_updated', sharedValues: 'multi_tab', mainTabPromise: false, iosUsesWorker: true, copyPayload: false, reactiveService: false, workerElection: false },
    19: {
      events: { connect: 'BUS:CONNECT', reconnect: 'BUS:RECONNECT', disconnect: 'BUS:DISCONNECT', reconnecting: 'BUS:RECONNECTING' },
      notificationEvent: false,
      stateEvent: 'BUS:WORKER_STATE_UPDATED',
      sharedValues: 'legacy_multi_tab',
      mainTabPromise: true,
      iosUsesWorker: false,
      copyPayload: true,
      reactiveService: true,
      workerElection: true,
    },
  };

  const version = (session.server_version_info || [])[0];
  if (typeof window.TabBus !== 'object') {
    console.warn("tabbus_bus: the TabBus script is missing from the assets; Odoo's own bus stays in place");
    return {};
  }
  // A page whose session info names no version: a public page (16+ give visitors none). Odoo's own bus stays,
  // and it is no mistake to say anything about.
  if (version === undefined) return {};
  const series = SERIES[version];
  if (!series) {
    console.warn(`tabbus_bus: this adapter is for Odoo 16 to 19, not ${version}; Odoo's own bus stays in place`);
    return {};
  }
  const settings = session.tabbus || {};

  /** Odoo's websocket worker states, from the connection state tabbus relays to every tab. */
  function workerState(transport) {
    if (transport === 'open') return 'CONNECTED';
    if (transport === 'connecting') return 'CONNECTING';
    if (transport === 'idle') return 'IDLE';
    return 'DISCONNECTED';
  }

  /** Odoo's bus_service, on tabbus: the same members, one socket per browser. */
  function startTabbus(env, deps) {
    const multiTab = deps.multi_tab;
    const sharedValues = deps[series.sharedValues];
    const bus = new EventBus();
    const notificationBus = new EventBus();
    const listeners = new Map();
    /** 16: what the main tab's im_status service last asked the server about (sent with each presence). */
    let imStatusIds = {};
    // 18/19 move the user's id to `@web/core/user` (and delete it from the session once that module ran);
    // without it, every tab would ask the server whose session it is before it could start.
    const userModule = odoo.loader && odoo.loader.modules && odoo.loader.modules.get('@web/core/user');
    const uid = Number.isInteger(session.uid) ? session.uid : userModule && userModule.user && userModule.user.userId;
    const tabbus = window.TabBus.createOdooBus({
      version,
      uid: Number.isInteger(uid) ? uid : undefined,
      db: session.db,
      start: false,
      websocketWorkerVersion: session.websocket_worker_version,
      hiddenPace: settings.hidden_pace,
      preferVisibleLeader: settings.prefer_visible_leader,
      hiddenSocketClose: settings.hidden_socket_close,
      imStatusIds: () => imStatusIds,
    });
    let service;
    let connected = false;
    let everConnected = false;
    let leading = false;
    let lastWorkerState;
    // Odoo's multi_tab service runs its own election (localStorage heartbeats: the main tab writes twice
    // every 1.5 s, each other tab every 10 s, and every write wakes every other tab with a storage event).
    // Here tabbus decides the main tab, so that election only costs, and its become/no_longer_main_tab
    // events could tell a listener (16's im_status timer) the opposite of tabbus. Its events pass only
    // when they agree with tabbus's role, and wherever Odoo has `unregister()` (17 on; not in the 16.0 source
    // read) it is stopped: on 19 only where it elects through localStorage, without a SharedWorker (there
    // the election is lazy, and `isOnMainTab` is ours). Shared values and their events stay.
    const odooTrigger = multiTab.bus.trigger.bind(multiTab.bus);
    multiTab.bus.trigger = (name, payload) => {
      if ((name === 'become_main_tab' && !leading) || (name === 'no_longer_main_tab' && leading)) return;
      return odooTrigger(name, payload);
    };
    if (typeof multiTab.unregister === 'function' && !(series.workerElection && typeof browser.SharedWorker === 'function')) {
      multiTab.unregister();
    }
    tabbus.on('state', (state) => {
      // A page attribute says which tab holds the socket (devtools, and the real-Odoo check).
      document.documentElement.dataset.tabbusRole = state.role;
      const leads = state.role === 'leader' || state.role === 'solo';
      if (leads !== leading) {
        leading = leads;
        multiTab.bus.trigger(leads ? 'become_main_tab' : 'no_longer_main_tab');
      }
      // The connection's events, from the state the leader relays to every tab.
      const nextWorkerState = workerState(state.transport);
      if (nextWorkerState !== lastWorkerState) {
        lastWorkerState = nextWorkerState;
        service.workerState = nextWorkerState;
        if (series.stateEvent) bus.trigger(series.stateEvent, nextWorkerState);
      }
      if (state.transport === 'open' && !connected) {
        connected = true;
        bus.trigger(everConnected ? series.events.reconnect : series.events.connect);
        everConnected = true;
      } else if (connected && (state.transport === 'backoff' || state.transport === 'connecting' || state.transport === 'offline')) {
        connected = false;
        bus.trigger(series.events.disconnect, { code: 1006, reason: state.lastError ? state.lastError.message : '' });
        bus.trigger(series.events.reconnecting, { closeCode: 1006 });
      } else if (connected && state.role === 'stopped') {
        // stop(): Odoo's worker closes its socket and says `disconnect`; a later start() says `reconnect`.
        connected = false;
        bus.trigger(series.events.disconnect, { code: 1000, reason: '' });
      }
      service.isActive = state.role !== 'stopped';
    });
    tabbus.on('notification', (items) => {
      const messages = items.map((item) => ({ id: item.id, type: item.type, payload: item.payload }));
      const last = messages[messages.length - 1].id;
      service.lastNotificationId = last;
      // The cursor Odoo's own client would resume from (and 18/19's outdated-page check reads): the tab
      // that holds the socket writes it for the browser.
      if (leading && sharedValues) sharedValues.setSharedValue('last_notification_id', last);
      if (series.notificationEvent) bus.trigger('notification', messages);
      for (const message of messages) {
        notificationBus.trigger(message.type, message);
        // Odoo's hook for its tests (18: id, type, payload; 19: env first).
        if (typeof busService._onMessage === 'function') {
          if (version >= 19) busService._onMessage(env, message.id, message.type, message.payload);
          else busService._onMessage(message.id, message.type, message.payload);
        }
      }
    });
    tabbus.on('outdated', () => {
      multiTab.unregister?.();
      deps.notification?.add('The page is out of date: save your work and refresh to get the latest updates.', {
        title: 'Refresh',
        type: 'warning',
        sticky: true,
        buttons: [{ name: 'Refresh', primary: true, onClick: () => browser.location.reload() }],
      });
    });
    // The main tab is the one that holds the socket: mail's sound and desktop notifications play there.
    multiTab.isOnMainTab = series.mainTabPromise ? async () => leading : () => leading;

    const start = () => (tabbus.state().role === 'stopped' ? tabbus.start().catch((error) => console.warn(error.message)) : Promise.resolve());
    let warnedSend = false;
    const members = {
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
      /**
       * `update_presence`: the tab that holds the socket sends the browser-wide inactivity, now (Odoo's
       * client asks on connect and when the server says the user went offline) and every minute; on 16
       * with the ids the main tab's im_status service asks about. Other events have no route here.
       */
      send(eventName, data) {
        if (eventName === 'update_presence') {
          if (data && data.im_status_ids_by_model) imStatusIds = data.im_status_ids_by_model;
          tabbus.sendPresence();
          return;
        }
        if (warnedSend) return;
        warnedSend = true;
        console.warn(`tabbus_bus: bus_service.send('${eventName}') is not forwarded (only subscribe and presence go to the server)`);
      },
      subscribe(type, callback) {
        const listener = ({ detail }) => callback(series.copyPayload ? JSON.parse(JSON.stringify(detail.payload)) : detail.payload, { id: detail.id });
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
      /** 19: Odoo's bus logs live in its worker, which does not run here. */
      setLoggingEnabled() {},
      downloadLogs() {
        console.warn("tabbus_bus: no worker logs to download; see the tabbus bus's state() instead");
      },
      isActive: false,
      workerState: null,
      lastNotificationId: null,
      startedAt: window.luxon ? window.luxon.DateTime.now().set({ milliseconds: 0 }) : undefined,
      /** The tabbus bus itself: state(), once(), shared(). */
      tabbus: markRaw ? markRaw(tabbus) : tabbus,
    };
    // 19's bus_service is an owl reactive object (components read isActive, workerState): so is this one.
    service = series.reactiveService && reactive ? reactive(members) : members;
    return service;
  }

  /** Whether Odoo's own service already gives one socket per browser here (its SharedWorker path). */
  function odooSharesSocket() {
    if (typeof browser.SharedWorker !== 'function') return false;
    // 16–18 take a Worker per tab in the iOS app even where SharedWorker exists; 19 does not.
    return !(series.iosUsesWorker && isIosApp());
  }

  const tabbusBusService = {
    dependencies: busService.dependencies,
    async: busService.async,
    start(env, deps) {
      if (settings.websocket !== 'always' && odooSharesSocket()) return busService.start(env, deps);
      return startTabbus(env, deps);
    },
  };
  registry.category('services').add('bus_service', tabbusBusService, { force: true });
  return { tabbusBusService };
});
