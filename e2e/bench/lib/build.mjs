// Bundles the bench page code with esbuild into e2e/bench/.build/ (served as /build/) and measures
// each contender's browser code, min+gzip (gzip -9, as scripts/check-size.mjs measures tabbus).
import { build } from 'esbuild';
import { mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const OUT = here('../.build');
const PAGE = here('../page');
const ODOO_DIST = here('../../../packages/odoo/dist');
const TABEX = here('../../node_modules/tabex/dist/tabex.min.js');

const common = { bundle: true, minify: true, platform: 'browser', target: 'es2022', legalComments: 'none', logLevel: 'error' };

/** Writes .build/harness.js and one IIFE per contender glue (naive shares tabbus.js). */
export async function buildPage() {
  mkdirSync(OUT, { recursive: true });
  // The harness stays readable: it is not measured, and a stack trace from it should make sense.
  await build({ ...common, minify: false, format: 'iife', entryPoints: [`${PAGE}/harness.js`], outfile: `${OUT}/harness.js` });
  for (const name of ['odoo-crosstab', 'tabex', 'broadcast-channel', 'tabbus']) {
    await build({ ...common, format: 'iife', entryPoints: [`${PAGE}/contenders/${name}.js`], outfile: `${OUT}/${name}.js` });
  }
}

const gz = (buffer) => gzipSync(buffer, { level: 9 }).length;

/** One in-memory esbuild bundle of `contents` (an ES module) resolved from `resolveDir`. */
async function bundle(contents, resolveDir, format = 'esm') {
  const result = await build({ ...common, format, write: false, stdin: { contents, resolveDir, loader: 'js' } });
  return Buffer.from(result.outputFiles[0].contents);
}

/**
 * Bytes min+gzip. `code`: what the bench page loads for the contender (vendor file + glue, one
 * concatenation gzipped once); `library`: the package alone, without the bench's poll loop and glue.
 */
export async function measureBytes() {
  const glue = (name) => readFileSync(`${OUT}/${name}.js`);
  const iife = readFileSync(`${ODOO_DIST}/tabbus.global.min.js`);
  const tabex = readFileSync(TABEX);
  // What an ESM user ships who imports only createOdooBus (tree-shaken, every dependency inlined).
  const esm = await bundle(`export { createOdooBus } from './index.mjs';`, ODOO_DIST);
  const bc = await bundle(`export { BroadcastChannel, createLeaderElection } from 'broadcast-channel';`, here('..'));
  // The script tags of one transport family (the addon's), for pages that know their series: reported beside.
  const family = (name) => gz(readFileSync(`${ODOO_DIST}/tabbus.${name}.global.min.js`));
  const tabbus = {
    library: gz(iife), code: gz(Buffer.concat([iife, glue('tabbus')])), iife: gz(iife), iifeMinified: iife.length, esmCreateOdooBus: gz(esm),
    iifeLongpolling: family('longpolling'), iifeWebsocket: family('websocket'),
  };
  return {
    naive: { ...tabbus, note: 'the tabbus bundle' },
    'odoo-crosstab': { library: 0, code: gz(glue('odoo-crosstab')), note: "the bench's reimplementation with its poll loop; Odoo's own needs its web client" },
    tabex: { library: gz(tabex), code: gz(Buffer.concat([tabex, glue('tabex')])) },
    'broadcast-channel': { library: gz(bc), code: gz(glue('broadcast-channel')) },
    tabbus,
  };
}
