// A stand-in for the slice of Odoo's web client that a bus client lives in, kept small, written from the
// protocol notes (ODOO-BUS-PROTOCOL.md §5.2, §6.2, §7.5) and the public shape of Odoo's modules: the
// module loader `odoo.define(name, [deps], factory)`, and a `startModules()` that runs every factory
// whose dependencies are defined. Only the e2e tests of the tabbus_bus addon load it.
(function () {
  const factories = new Map();
  const modules = new Map();
  const odoo = (window.odoo = window.odoo || {});
  // Where Odoo's loader keeps the modules it ran (read by the addon for `@web/core/user`).
  odoo.loader = { modules };
  odoo.define = function (name, deps, factory) {
    if (typeof deps === 'function') [deps, factory] = [[], deps];
    factories.set(name, { deps, factory });
  };
  const require = (name) => {
    if (!modules.has(name)) throw new Error(`stand-in: module ${name} is not defined`);
    return modules.get(name);
  };
  /** Runs the factories in dependency order, as Odoo's loader does once the bundle is in. */
  odoo.startModules = function () {
    let progress = true;
    while (progress) {
      progress = false;
      for (const [name, { deps, factory }] of factories) {
        if (modules.has(name) || !deps.every((d) => modules.has(d))) continue;
        modules.set(name, factory(require) ?? {});
        progress = true;
      }
    }
    const missing = [...factories.keys()].filter((name) => !modules.has(name));
    if (missing.length) throw new Error(`stand-in: unresolved modules ${missing.join(', ')}`);
    return require;
  };
})();
