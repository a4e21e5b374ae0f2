{
    'name': 'tabbus bus',
    'summary': "One WebSocket per browser under Odoo's bus_service where SharedWorker is missing (or always): fast failover, one sound",
    'version': '17.0.1.0.0',
    'category': 'Hidden',
    'author': 'tabbus',
    'website': 'https://www.npmjs.com/package/@tabbus/odoo',
    'license': 'Other OSI approved licence',
    'depends': ['bus'],
    'data': [],
    'assets': {
        # After Odoo's bus service (this module depends on bus): the TabBus script, then the service that replaces it.
        'web.assets_backend': [
            'tabbus_bus/static/lib/tabbus/tabbus.global.min.js',
            'tabbus_bus/static/src/js/adapter_services.js',
        ],
        'web.assets_frontend': [
            'tabbus_bus/static/lib/tabbus/tabbus.global.min.js',
            'tabbus_bus/static/src/js/adapter_services.js',
        ],
    },
    'installable': True,
    'auto_install': False,
}
