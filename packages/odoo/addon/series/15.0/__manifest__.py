{
    'name': 'tabbus bus',
    'summary': "One bus connection per browser under Odoo's own bus client: fast failover, slow polling while hidden, one sound",
    'version': '15.0.1.0.0',
    'category': 'Hidden',
    'author': 'tabbus',
    'website': 'https://www.npmjs.com/package/@tabbus/odoo',
    'license': 'Other OSI approved licence',
    'depends': ['bus'],
    'data': [],
    'assets': {
        # After Odoo's bus files (this module depends on bus): the TabBus script, then the adapter.
        'web.assets_backend': [
            'tabbus_bus/static/lib/tabbus/tabbus.global.min.js',
            'tabbus_bus/static/src/js/adapter_legacy.js',
        ],
        'web.assets_frontend': [
            'tabbus_bus/static/lib/tabbus/tabbus.global.min.js',
            'tabbus_bus/static/src/js/adapter_legacy.js',
        ],
    },
    'installable': True,
    'auto_install': False,
}
