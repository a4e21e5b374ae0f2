#!/usr/bin/env node
// Assembles the Odoo addon `tabbus_bus` once per Odoo series, after the rollup build of @tabbus/odoo:
// dist/addon/<series>/tabbus_bus/ = the shared Python (addon/common), the series' manifest (and, on 14, its
// assets template) from addon/series/<series>, the series' adapter from addon/static, and the script-tag
// build copied in from dist (so the addon always carries the TabBus of this very build, never a
// hand-edited copy). Run from packages/odoo (its `build` script does).
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

const pkg = process.cwd();
const source = resolve(pkg, 'addon');
const built = resolve(pkg, 'dist/tabbus.global.min.js');
if (!existsSync(built)) throw new Error(`build-addon: ${built} is missing; run rollup first`);

/** Which adapter each series loads: the legacy service class (14, 15) or the services registry (17, 18). */
export const SERIES = { '14.0': 'adapter_legacy.js', '15.0': 'adapter_legacy.js', '17.0': 'adapter_services.js', '18.0': 'adapter_services.js' };

const out = resolve(pkg, 'dist/addon');
rmSync(out, { recursive: true, force: true });
for (const [series, adapter] of Object.entries(SERIES)) {
  const addon = resolve(out, series, 'tabbus_bus');
  mkdirSync(resolve(addon, 'static/src/js'), { recursive: true });
  mkdirSync(resolve(addon, 'static/lib/tabbus'), { recursive: true });
  cpSync(resolve(source, 'common'), addon, { recursive: true });
  cpSync(resolve(source, 'series', series), addon, { recursive: true });
  cpSync(resolve(source, 'README.md'), resolve(addon, 'README.md'));
  cpSync(resolve(source, 'static', adapter), resolve(addon, 'static/src/js', adapter));
  cpSync(built, resolve(addon, 'static/lib/tabbus/tabbus.global.min.js'));
  writeFileSync(resolve(addon, 'static/lib/tabbus/README'), 'Copied from @tabbus/odoo dist/tabbus.global.min.js by the build; do not edit.\n');
}
console.log(`build-addon: tabbus_bus for ${Object.keys(SERIES).join(', ')} in ${out}`);
