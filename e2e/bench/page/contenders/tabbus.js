// tabbus (the built script-tag bundle, packages/odoo/dist/tabbus.global.min.js) and, with
// ?c=naive, the same bundle with `coordination: 'none'`: every tab polls for itself, as Odoo 8 did.
// naive also sets `hiddenPace: 0` because Odoo 8 never slowed hidden tabs down.
window.__benchStart = async (host) => {
  const naive = host.contender === 'naive';
  const bus = window.TabBus.createOdooBus({
    version: 15,
    uid: host.uid,
    db: host.db,
    channels: host.channels,
    start: false,
    ...(naive ? { coordination: 'none', hiddenPace: 0 } : {}),
  });
  bus.on('notification', (items) => host.deliver(items));
  bus.on('state', (state) => host.setRole(state.role === 'solo' ? 'leader' : state.role, state.transition?.at));
  window.benchBus = bus;
  await bus.start();
};
