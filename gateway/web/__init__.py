"""The agents' web workspace: server-rendered pages over the same service calls as the REST
API, with a little JavaScript for what must happen without a reload (live events, the sound
on a new message, canned replies)."""
import uuid

from flask_babel import Babel, get_locale, get_timezone

from gateway.web import (admin, calls, pages, search_page,  # noqa: F401 -- routes
                         statistics_page, ticket_page, workspace)


def init_app(app):
    Babel(app, locale_selector=pages.language, timezone_selector=pages.time_zone,
          default_translation_directories="translations")
    app.jinja_env.globals.update(csrf_token=pages.csrf_token, LANGUAGES=pages.LANGUAGES,
                                 TIME_ZONES=pages.TIME_ZONES, NAMES=pages.NAMES,
                                 get_locale=get_locale, get_timezone=get_timezone,
                                 request_key=lambda: uuid.uuid4().hex)  # a form's own key
    app.jinja_env.filters["when"] = pages.when
    app.jinja_env.filters["duration"] = statistics_page.duration
    app.register_blueprint(pages.bp)
