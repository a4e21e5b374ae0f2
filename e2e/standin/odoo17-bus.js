// Stand-in for the Odoo 17/18 modules a bus client touches, with their public surface: the services
// registry (`add(name, service, {force})`), owl's EventBus, `session`, `browser`, the `multi_tab` service
// (isOnMainTab, getSharedValue/setSharedValue, bus events) and `bus_service` on the path where there is no
// SharedWorker: each tab opens its own socket (Odoo's Worker fallback, what the addon must replace).
// `startServices(env)` starts the services in dependency order, as the web client does.
odoo.define('@odoo/owl', [], function () {
  class EventBus extends EventTarget {
    trigger(name, payload) {
      this.dispatchEvent(new CustomEvent(name, { detail: payload }));
    }
  }
  return { EventBus };
});

odoo.define('@web/session', [], function () {
  return { session: Object.assign({}, odoo.__session_info__) };
});

odoo.define('@web/core/browser/browser', [], function () {
  // ?sharedWorker=0 plays a browser without SharedWorker (Chrome on Android, the iOS app).
  const noShared = new URLSearchParams(location.search).get('sharedWorker') === '0';
  return { browser: { SharedWorker: noShared ? undefined : window.SharedWorker, Worker: window.Worker, location: window.location, localStorage: window.localStorage } };
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

odoo.define('@bus/multi_tab_service', ['@web/core/registry', '@odoo/owl'], function (require) {
  const { EventBus } = require('@odoo/owl');
  // The real service elects a main tab over localStorage heartbeats; the stand-in calls every tab main.
  const multiTabService = {
    start() {
      const bus = new EventBus();
      const shared = new Map();
      return {
        bus,
        isOnMainTab: () => true,
        getSharedValue: (key, fallback) => (shared.has(key) ? shared.get(key) : fallback),
        setSharedValue: (key, value) => void shared.set(key, value),
        removeSharedValue: (key) => void shared.delete(key),
        unregister() {},
      };
    },
  };
  require('@web/core/registry').registry.category('services').add('multi_tab', multiTabService);
  return { multiTabService };
});

odoo.define('@bus/services/bus_service', ['@web/core/registry', '@odoo/owl', '@web/session'], function (require) {
  const { EventBus } = require('@odoo/owl');
  const { session } = require('@web/session');
  const busService = {
    dependencies: ['bus.parameters', 'localization', 'multi_tab', 'notification'],
    async: true,
    start(env, { multi_tab: multiTab }) {
      const bus = new EventBus();
      const notificationBus = new EventBus();
      const channels = new Set();
      let socket;
      let last = multiTab.getSharedValue('last_notification_id', 0);
      const subscribe = () => socket?.readyState === 1 && socket.send(JSON.stringify({ event_name: 'subscribe', data: { channels: [...channels], last } }));
      const start = () => {
        if (socket) return;
        socket = new WebSocket(`${location.origin.replace('http', 'ws')}/websocket?version=${session.websocket_worker_version}`);
        socket.onopen = () => {
          subscribe();
          bus.trigger('connect');
        };
        socket.onmessage = ({ data }) => {
          const messages = JSON.parse(data).map((n) => ({ ...n.message, id: n.id }));
          last = messages.at(-1).id;
          multiTab.setSharedValue('last_notification_id', last);
          bus.trigger('notification', messages);
          for (const m of messages) notificationBus.trigger(m.type, m.payload);
        };
        socket.onclose = ({ code, reason }) => bus.trigger('disconnect', { code, reason });
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
        subscribe: (type, callback) => notificationBus.addEventListener(type, ({ detail }) => callback(detail)),
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
