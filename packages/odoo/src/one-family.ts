import { TabBusError } from '@tabbus/core';
import { makeOdooBus, type OdooBus, type OdooBusOptions, type OdooBusParts } from './odoo-bus';
import { checkVersion, speaksWebsocket } from './versions';

/**
 * `createOdooBus` for a build that carries one version family (the series' script tags, the addon's): the
 * version must be given, and be of that family; anything else is a `config` error that names the build
 * which speaks it. No detection: a page that loads the build for its series knows its series.
 */
export const oneFamilyBus =
  (family: 'longpolling' | 'websocket', parts: OdooBusParts) =>
  (options: OdooBusOptions = {}): OdooBus => {
    const version = options.version === undefined ? undefined : checkVersion(options.version);
    const speaks = family === 'websocket' ? 'Odoo 16+' : 'Odoo 8–15';
    if (version === undefined || version === 'auto' || (speaksWebsocket(version) ? 'websocket' : 'longpolling') !== family) {
      throw new TabBusError('config', `this build of tabbus speaks ${speaks} only: give \`version\` as one of those (got ${String(version)}), or load tabbus.global.min.js, which speaks every version and 'auto'`, {
        context: { version, build: family },
      });
    }
    return makeOdooBus(options, parts);
  };
