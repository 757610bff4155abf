"""The Flask API gateway: the agents' web workspace, the REST API, live events, the customer
portal and rating page, /healthz and /metrics; it keeps nothing itself."""
from flask import Flask

from gateway import api, errors, health, live, presence, web
from gateway.api import (directory, events, mail, notify, openapi, search, session, sla,
                         statistics, tickets)
from gateway.portal import customer, rating
from gateway.rpc import RpcPool
from helpdesk import config as settings
from helpdesk.config import MAX_REQUEST_BYTES, RPC_POOL_SIZE, RPC_TIMEOUT, SECRET_KEY


def create_app(config=None):
    config = config if config is not None else settings.load()
    app = Flask(__name__)
    app.config["SECRET_KEY"] = config[SECRET_KEY]
    app.config["MAX_CONTENT_LENGTH"] = int(config.get(MAX_REQUEST_BYTES, 25 * 1024 * 1024))
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.json.ensure_ascii = False
    app.extensions["rpc"] = RpcPool(config, size=int(config.get(RPC_POOL_SIZE, 8)),
                                    timeout=float(config.get(RPC_TIMEOUT, 10)))
    errors.init_app(app)
    health.init_app(app)
    live.init_app(app, config)
    app.extensions["presence"] = presence.Presence(config)
    app.register_blueprint(health.bp)
    app.register_blueprint(rating.bp)
    app.register_blueprint(customer.bp)
    web.init_app(app)
    modules = (session, directory, tickets, mail, notify, sla, search, statistics, events,
               openapi)
    for module in modules:
        app.register_blueprint(module.bp, url_prefix="/api/v1")
    api.init_app(app, [module.bp for module in modules])
    return app
