"""Static checks of the built tabbus_bus addon (dist/addon/<series>/tabbus_bus), run by scripts/check-addon.mjs.

No Odoo can be installed here, so this checks what can be checked without one: every Python file
compiles, every manifest is a literal dict with the keys its series needs, every asset it names exists,
and the settings reader of models/ir_http.py parses what the system parameters may hold.
"""
import ast
import re
import sys
import types
from pathlib import Path

failures = []


def check(what, ok, detail=''):
    print(('✓ ' if ok else '✗ ') + what + (' (%s)' % detail if detail else ''))
    if not ok:
        failures.append(what)


dist = Path(sys.argv[1])
series_dirs = sorted(p for p in dist.iterdir() if p.is_dir())
SERIES = ['14.0', '15.0', '16.0', '17.0', '18.0', '19.0']
check('an addon per series %s' % ', '.join(SERIES), [p.name for p in series_dirs] == SERIES, ', '.join(p.name for p in series_dirs))

for series_dir in series_dirs:
    series = series_dir.name
    addon = series_dir / 'tabbus_bus'
    major = int(series.split('.')[0])
    for py in sorted(addon.rglob('*.py')):
        # compile() rather than py_compile: nothing (no __pycache__) is written into the shipped addon.
        try:
            compile(py.read_text(), str(py), 'exec')
            check('%s: %s compiles' % (series, py.relative_to(addon)), True)
        except SyntaxError as error:
            check('%s: %s compiles' % (series, py.relative_to(addon)), False, str(error))
    source = (addon / '__manifest__.py').read_text()
    try:
        manifest = ast.literal_eval(source)
    except (ValueError, SyntaxError) as error:
        check('%s: the manifest is a literal' % series, False, str(error))
        continue
    check('%s: the manifest is a dict' % series, isinstance(manifest, dict))
    for key in ('name', 'version', 'depends', 'license', 'installable', 'data'):
        check('%s: manifest has %r' % (series, key), key in manifest)
    check('%s: version %s is of the series' % (series, manifest.get('version')), str(manifest.get('version', '')).startswith(series + '.'))
    check('%s: depends on bus' % series, 'bus' in manifest.get('depends', []))
    check('%s: installable' % series, manifest.get('installable') is True)
    check('%s: a license Odoo knows' % series, manifest.get('license') in ('GPL-2', 'GPL-2 or any later version', 'GPL-3', 'GPL-3 or any later version', 'AGPL-3', 'LGPL-3', 'Other OSI approved licence', 'OEEL-1', 'OPL-1', 'Other proprietary'))
    adapter = 'adapter_legacy.js' if major <= 15 else 'adapter_services.js'
    if major >= 15:
        assets = manifest.get('assets', {})
        check('%s: assets in the manifest (15+)' % series, isinstance(assets, dict) and 'web.assets_backend' in assets)
        check('%s: no XML assets template (gone in 15)' % series, not any(str(d).startswith('views/') for d in manifest.get('data', [])))
        # The login form's news must run before the lazily loaded frontend bundle (15+ load it after `load`).
        check('%s: the session news in web.assets_frontend_minimal, not in the lazy frontend bundle' % series,
              [p.rsplit('/', 1)[-1] for p in assets.get('web.assets_frontend_minimal', [])] == ['session_news.js']
              and not any(str(p).endswith('session_news.js') for p in assets.get('web.assets_frontend', []))
              # The lazy bundle includes the frontend one, which includes the minimal one: out of it, once per page.
              and [tuple(d) for d in assets.get('web.assets_frontend_lazy', [])] == [('remove', 'tabbus_bus/static/src/js/session_news.js')]
              and all(isinstance(d, tuple) for d in assets.get('web.assets_frontend_lazy', [])))
        paths = [p for p in assets.get('web.assets_backend', []) if isinstance(p, str)]
        paths += [p for name, bundle in assets.items() if name != 'web.assets_backend' for p in bundle if isinstance(p, str)]
    else:
        check('%s: no assets key (14 ignores it)' % series, 'assets' not in manifest)
        data = manifest.get('data', [])
        check('%s: the assets template is loaded' % series, 'views/assets.xml' in data)
        for name in data:
            check('%s: data file %s exists' % (series, name), (addon / name).is_file())
        xml = (addon / 'views/assets.xml').read_text()
        check('%s: assets.xml inherits web.assets_backend' % series, 'inherit_id="web.assets_backend"' in xml)
        paths = ['tabbus_bus' + src for src in re.findall(r'src="/tabbus_bus(/[^"]+)"', xml)]
    news = 'client_news_legacy.js' if major <= 14 else 'client_news.js'
    # The TabBus script of the series' transport family: long-polling up to 15, WebSocket from 16.
    tabbus = 'tabbus.%s.global.min.js' % ('longpolling' if major <= 15 else 'websocket')
    backend = [tabbus, 'session_news.js', adapter, news]
    check('%s: the backend bundle gets the TabBus script (%s), the session news, the %s and the %s' % (series, tabbus, adapter, news),
          [p.rsplit('/', 1)[-1] for p in paths[:4]] == backend, ', '.join(paths[:4]))
    for path in paths:
        check('%s: asset %s exists' % (series, path), path.startswith('tabbus_bus/') and (addon / path[len('tabbus_bus/'):]).is_file())
    script = (addon / 'static/src/js' / adapter).read_text()
    if adapter == 'adapter_services.js':
        # The adapter describes each series it takes over in its SERIES table; a series without an entry
        # would log "not for this version" and leave Odoo's bus in place.
        check('%s: the adapter has a SERIES entry for %d' % (series, major), re.search(r'^\s+%d: \{' % major, script, re.M) is not None)
    else:
        check('%s: the adapter accepts %d' % (series, major), re.search(r'version !== %d\b' % major, script) is not None)

# read_settings, with a stand-in for the `odoo` package (models.AbstractModel is all the file imports).
odoo = types.ModuleType('odoo')
odoo.models = types.SimpleNamespace(AbstractModel=type('AbstractModel', (), {}))
sys.modules['odoo'] = odoo
sys.modules['odoo.models'] = odoo.models
namespace = {}
ir_http = series_dirs[-1] / 'tabbus_bus/models/ir_http.py'
exec(compile(ir_http.read_text(), str(ir_http), 'exec'), namespace)
read_settings = namespace['read_settings']
defaults = read_settings(lambda key: False)
check('read_settings: defaults when nothing is set', defaults == {'hidden_pace': 30000, 'prefer_visible_leader': True, 'hidden_socket_close': 0, 'websocket': 'fallback'}, repr(defaults))
stored = {'tabbus.hidden_pace': '5000', 'tabbus.prefer_visible_leader': 'False', 'tabbus.hidden_socket_close': '600000', 'tabbus.websocket': 'Always'}
parsed = read_settings(stored.get)
check('read_settings: stored values', parsed == {'hidden_pace': 5000, 'prefer_visible_leader': False, 'hidden_socket_close': 600000, 'websocket': 'always'}, repr(parsed))
garbage = read_settings({'tabbus.hidden_pace': 'soon', 'tabbus.websocket': 'sometimes'}.get)
check('read_settings: unparsable values fall back to defaults', garbage['hidden_pace'] == 30000 and garbage['websocket'] == 'fallback', repr(garbage))

if failures:
    print('%d addon check(s) failed' % len(failures))
    sys.exit(1)
