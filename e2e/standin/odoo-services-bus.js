// Stand-in for the Odoo 16–19 modules a bus client touches, with their public surface per series (read from
// each series' public bus source): the services registry (`add(name, service, {force})`), owl's EventBus,
// reactive and markRaw, `session`, `browser`, `isIosApp`, the `multi_tab` service (isOnMainTab: a boolean
// up to 18, a promise on 19; shared values on multi_tab up to 18, on `legacy_multi_tab` on 19) and
// `bus_service` on the path where there is no SharedWorker: each tab opens its own socket (Odoo's Worker
// fallback, what the addon must replace). Connection events are `connect`… up to 18 and `BUS:CONNECT`… on
// 19; a `notification` event carries each batch on 16/17 only. The series comes from the session info (or
// `?series=`). `startServices(env)` starts the services in dependency order, as the web client does.
(function () {
  const major = () => Number(String(new URLSearchParams(location.search).get('series') ?? odoo.__session_info__.server_version_info[0]).split('.')[0]);

  odoo.define('@odoo/owl', [], function () {
    class EventBus extends EventTarget {
      trigger(name, payload) {
        this.dispatchEvent(new CustomEvent(name, { detail: payload }));
      }
    }
    // Enough of owl's reactive for a service object: a proxy that reports writes (`reactive.writes`), and
    // markRaw, which keeps an object out of it (a class with private fields breaks behind a proxy).
    const raw = new WeakSet();
    const reactive = (target) => {
      reactive.made++;
      return new Proxy(target, {
        get(obj, key) {
          const value = Reflect.get(obj, key);
          if (value && typeof value === 'object' && !raw.has(value) && Object.getPrototypeOf(value) !== Object.prototype && !Array.isArray(value)) {
            throw new Error(`stand-in reactive: ${String(key)} is a class instance that was not marked raw`);
          }
          return value;
        },
        set(obj, key, value) {
          reactive.writes.push(String(key));
          return Reflect.set(obj, key, value);
        },
      });
    };
    reactive.made = 0;
    reactive.writes = [];
    const markRaw = (value) => (raw.add(value), value);
    return { EventBus, reactive, markRaw };
  });

  odoo.define('@web/session', [], function () {
    const session = Object.assign({}, odoo.__session_info__);
    // 18/19 keep the user's id in `@web/core/user` and delete it from the session.
    if (major() >= 18) delete session.uid;
    return { session };
  });

  odoo.define('@web/core/user', [], function () {
    return { user: { userId: odoo.__session_info__.uid } };
  });

  odoo.define('@web/core/browser/browser', [], function () {
    // ?sharedWorker=0 plays a browser without SharedWorker (Chrome on Android, some Safari setups).
    const noShared = new URLSearchParams(location.search).get('sharedWorker') === '0';
    return { browser: { SharedWorker: noShared ? undefined : window.SharedWorker, Worker: window.Worker, location: window.location, localStorage: window.localStorage } };
  });

  odoo.define('@web/core/browser/feature_detection', [], function () {
    // ?ios=1 plays Odoo's iOS app, where 16–18 take a Worker per tab even with SharedWorker.
    return { isIosApp: () => new URLSearchParams(location.search).get('ios') === '1' };
  });

  odoo.define('@web/core/registry', [], function () {
    const categories = new Map();
    const category = (name) => {
      if (!categories.has(name)) {
        const entries = new Map();
        categories.set(name, {
          add(key, value, { force = false } = {}) {
            if (entries.has(key) && !force) throw new Error(`Cannot add key "${key}" in the "${name}" registry: it already exists`);
            entries.set(key, value);
            return this;
          },
          get: (key) => entries.get(key),
          getEntries: () => [...entries],
        });
      }
      return categories.get(name);
    };
    return { registry: { category } };
  });

  /** Shared values in localStorage, as multi_tab (16–18) and legacy_multi_tab (19) keep them. */
  function sharedValues(prefix) {
    const key = (k) => `${prefix}.${location.origin}.${k}`;
    return {
      getSharedValue: (k, fallback) => {
        const item = localStorage.getItem(key(k));
        return item === null ? fallback : JSON.parse(item);
      },
      setSharedValue: (k, value) => localStorage.setItem(key(k), JSON.stringify(value)),
      removeSharedValue: (k) => localStorage.removeItem(key(k)),
    };
  }

  /**
   * Odoo's localStorage election, as its multi_tab service runs it (the periods and keys of 16–19's source):
   * each tab notes itself in `lastPresenceByTab` every 10 s; the main tab writes `heartbeat` (and prunes that
   * map) every 1.5 s; a heartbeat older than 5 s, or the `main` key removed, makes the first tab seen in the
   * last 15 s the main one. `unregister()` (17 on; the 16.0 source read has none) leaves the election.
   * `standinLoseMain()` plays the branch where the main tab finds another main's heartbeat.
   */
  function heartbeatElection(bus) {
    const prefix = major() >= 19 ? 'multi_tab_service.' : `multi_tab.${location.origin.replace(/:\/{0,2}/g, '_')}.`;
    const read = (k, fallback) => JSON.parse(localStorage.getItem(prefix + k) ?? 'null') ?? fallback;
    const write = (k, value) => localStorage.setItem(prefix + k, JSON.stringify(value));
    const tabId = `standin:${Math.random().toString(36).slice(2)}`;
    let main = false;
    let beat = 0;
    let timer;
    const elect = () => {
      if (main) return;
      const presence = read('lastPresenceByTab', {});
      const next = Object.entries(presence).find(([, seen]) => seen > Date.now() - 15000)?.[0];
      if (next !== tabId) return;
      beat = Date.now();
      write('heartbeat', beat);
      write('main', true);
      main = true;
      bus.trigger('become_main_tab');
      delete presence[tabId];
      write('lastPresenceByTab', presence);
    };
    const heartbeat = () => {
      if (read('heartbeat', 0) + 5000 < Date.now()) elect();
      const presence = read('lastPresenceByTab', {});
      if (main) {
        beat = Date.now();
        write('heartbeat', beat);
        write('lastPresenceByTab', Object.fromEntries(Object.entries(presence).filter(([, seen]) => seen + 15000 > beat)));
      } else {
        presence[tabId] = Date.now();
        write('lastPresenceByTab', presence);
      }
      timer = setTimeout(heartbeat, main ? 1500 : 10000);
    };
    const unregister = () => {
      clearTimeout(timer);
      const presence = read('lastPresenceByTab', {});
      delete presence[tabId];
      write('lastPresenceByTab', presence);
      if (main) {
        main = false;
        bus.trigger('no_longer_main_tab');
        localStorage.removeItem(prefix + 'main');
      }
    };
    window.addEventListener('storage', ({ key, newValue }) => {
      if (key === prefix + 'main' && !newValue) elect();
    });
    window.addEventListener('pagehide', unregister);
    window.standinLoseMain = () => {
      main = false;
      bus.trigger('no_longer_main_tab');
    };
    const presence = read('lastPresenceByTab', {});
    presence[tabId] = Date.now();
    write('lastPresenceByTab', presence);
    if (!read('main', false)) elect();
    heartbeat();
    const service = { bus, isOnMainTab: () => main };
    if (major() >= 17) service.unregister = unregister;
    if (major() >= 19) return { ...service, isOnMainTab: async () => main };
    return { ...service, ...sharedValues('multi_tab') };
  }

  odoo.define('@bus/multi_tab_service', ['@web/core/registry', '@odoo/owl'], function (require) {
    const { EventBus } = require('@odoo/owl');
    const services = require('@web/core/registry').registry.category('services');
    // The real service elects a main tab (localStorage heartbeats, or 19's SharedWorker); the stand-in calls
    // every tab main, which is what the addon must correct. With ?election=heartbeat it elects as Odoo's
    // localStorage election does instead (16–18, and 19 without SharedWorker): its costs and its events.
    const multiTabService = {
      start() {
        const bus = new EventBus();
        if (new URLSearchParams(location.search).get('election') === 'heartbeat') return heartbeatElection(bus);
        const common = { bus, unregister() {} };
        if (major() >= 19) return { ...common, isOnMainTab: async () => true };
        return { ...common, isOnMainTab: () => true, ...sharedValues('multi_tab') };
      },
    };
    services.add('multi_tab', multiTabService);
    if (major() >= 19) {
      services.add('legacy_multi_tab', { start: () => ({ bus: new EventBus(), ...sharedValues('legacy_multi_tab') }) });
      services.add('worker_service', { dependencies: ['bus.parameters'], start: () => ({}) });
    }
    return { multiTabService };
  });

  odoo.define('@bus/services/bus_service', ['@web/core/registry', '@odoo/owl', '@web/session'], function (require) {
    const { EventBus } = require('@odoo/owl');
    const { session } = require('@web/session');
    const v = major();
    const DEPENDENCIES = {
      16: ['localization', 'multi_tab'],
      17: ['bus.parameters', 'localization', 'multi_tab', 'notification'],
      18: ['bus.parameters', 'localization', 'multi_tab', 'notification'],
      19: ['bus.parameters', 'localization', 'multi_tab', 'legacy_multi_tab', 'notification', 'worker_service'],
    };
    const eventName = (name) => (v >= 19 ? `BUS:${name.toUpperCase()}` : name);
    const busService = {
      dependencies: DEPENDENCIES[v] ?? DEPENDENCIES[19],
      async: v >= 17 && v <= 18 ? true : undefined,
      start(env, deps) {
        const shared = deps[v >= 19 ? 'legacy_multi_tab' : 'multi_tab'];
        const bus = new EventBus();
        const notificationBus = new EventBus();
        const channels = new Set();
        let socket;
        let last = shared.getSharedValue('last_notification_id', 0);
        const subscribe = () => socket?.readyState === 1 && socket.send(JSON.stringify({ event_name: 'subscribe', data: { channels: [...channels], last } }));
        const start = () => {
          if (socket) return;
          const version = session.websocket_worker_version ? `?version=${session.websocket_worker_version}` : '';
          socket = new WebSocket(`${location.origin.replace('http', 'ws')}/websocket${version}`);
          socket.onopen = () => {
            subscribe();
            bus.trigger(eventName('connect'));
          };
          socket.onmessage = ({ data }) => {
            const messages = JSON.parse(data).map((n) => ({ ...n.message, id: n.id }));
            last = messages.at(-1).id;
            shared.setSharedValue('last_notification_id', last);
            if (v <= 17) bus.trigger('notification', messages);
            for (const m of messages) notificationBus.trigger(m.type, m);
          };
          socket.onclose = ({ code, reason }) => bus.trigger(eventName('disconnect'), { code, reason });
        };
        return {
          addEventListener: bus.addEventListener.bind(bus),
          removeEventListener: bus.removeEventListener.bind(bus),
          addChannel(channel) {
            channels.add(channel);
            start();
            subscribe();
          },
          deleteChannel(channel) {
            channels.delete(channel);
            subscribe();
          },
          forceUpdateChannels: subscribe,
          send: (event_name, data) => socket?.send(JSON.stringify({ event_name, data })),
          subscribe: (type, callback) => notificationBus.addEventListener(type, ({ detail }) => callback(detail.payload, { id: detail.id })),
          start,
          stop() {
            socket?.close();
            socket = undefined;
          },
          get isActive() {
            return Boolean(socket);
          },
        };
      },
    };
    require('@web/core/registry').registry.category('services').add('bus_service', busService);
    return { busService };
  });

  odoo.define('@web/env', ['@web/core/registry'], function (require) {
    const services = require('@web/core/registry').registry.category('services');
    // The few services bus_service depends on that the stand-in has no other use for.
    services.add('bus.parameters', { start: () => ({ serverURL: location.origin }) });
    services.add('localization', { start: () => ({}) });
    services.add('notification', {
      start: () => ({ shown: [], add(message, options) { this.shown.push({ message, ...options }); } }),
    });
    /** Starts every service once its dependencies have started, as the web client does. */
    async function startServices(env) {
      const pending = new Map(services.getEntries());
      while (pending.size) {
        const ready = [...pending].filter(([, s]) => (s.dependencies ?? []).every((d) => d in env.services));
        if (!ready.length) throw new Error(`stand-in: services waiting on missing dependencies: ${[...pending.keys()].join(', ')}`);
        for (const [name, service] of ready) {
          pending.delete(name);
          const deps = Object.fromEntries((service.dependencies ?? []).map((d) => [d, env.services[d]]));
          env.services[name] = await service.start(env, deps);
        }
      }
    }
    return { startServices };
  });
})();
