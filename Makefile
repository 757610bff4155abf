# Shortcuts; bin/helpdesk is the real entry point (it works without make).
.PHONY: up test migrate demo
up:
	bin/helpdesk up
test:
	bin/helpdesk test
migrate:
	bin/helpdesk migrate
demo:
	bin/helpdesk demo
