{
    'name': 'tabbus bus',
    'summary': "One bus connection per browser under Odoo's own bus client: fast failover, slow polling while hidden, one sound",
    'version': '14.0.1.0.0',
    'category': 'Hidden',
    'author': 'tabbus',
    'website': 'https://www.npmjs.com/package/@tabbus/odoo',
    'license': 'Other OSI approved licence',
    'depends': ['bus'],
    'data': ['views/assets.xml'],
    'installable': True,
    'auto_install': False,
}
