"""The container image's entry point: `migrate` creates or upgrades the database schemas and
exits (the compose file's and the Kubernetes Job's one-off step); any other name is a part of
the help desk, run by helpdesk.runner. Each branch imports only what it needs, so a service
is monkey-patched by eventlet before anything else is loaded."""
import sys


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["migrate"]:
        from helpdesk import cli
        return cli.main(["migrate"])
    from helpdesk import runner
    return runner.main(argv)


if __name__ == "__main__":
    sys.exit(main())
