"""The search index as a nameko dependency: the backend the configuration names."""
from nameko.extensions import DependencyProvider

from helpdesk.config import DATABASE_URL
from helpdesk.database import green_psycopg, make_engine
from services.search.backends import backend_from_config


class SearchIndex(DependencyProvider):
    """One backend per container, shared by its workers (both backends are safe for that)."""

    def setup(self):
        green_psycopg()
        config = self.container.config
        self.engine = make_engine(config[DATABASE_URL], int(config.get("max_workers", 10)),
                                  "helpdesk search index")
        self.backend = backend_from_config(config, self.engine)

    def stop(self):
        self.backend.close()
        self.engine.dispose()

    kill = stop

    def get_dependency(self, worker_ctx):
        return self.backend
