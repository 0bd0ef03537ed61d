"""The embedded systems of record: a CRM, a usage platform and an ERP behind one HTTP API.

They stand for other companies' systems. q2c reaches them only over HTTP, and nothing here
imports q2c. `systems.app.create_app` builds the application; `python -m systems` serves it.
"""
