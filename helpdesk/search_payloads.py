"""The payloads of the search service's calls, validated on the service side (the gateway's
OpenAPI document is built from them too): a search, and a saved search."""
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, StringConstraints, model_validator

from helpdesk.contract import Priority, Status
from helpdesk.payloads import Id, Name, Payload

MAX_PER_PAGE = 100
MAX_PAGE = 500  # deep paging is what filters are for
Address = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1,
                                           max_length=320)]


class SearchIn(Payload):
    text: Annotated[str, StringConstraints(max_length=1000)] = ""
    # where the words are looked for: subject and messages, the subject only, messages only
    within: Literal["all", "subject", "body"] = "all"
    agent_id: Id | None = None          # assigned to, or wrote on the ticket
    recipient: Address | None = None    # an address a message went to (To or Cc)
    sender: Address | None = None       # an address a message came from
    customer: Address | None = None     # the ticket's customer
    department_ids: list[Id] = []
    statuses: list[Status] = []
    priorities: list[Priority] = []
    created_from: AwareDatetime | None = None
    created_to: AwareDatetime | None = None
    updated_from: AwareDatetime | None = None
    updated_to: AwareDatetime | None = None
    resolved_from: AwareDatetime | None = None
    resolved_to: AwareDatetime | None = None
    sort: Literal["relevance", "newest", "oldest"] = "relevance"
    page: Annotated[int, Field(ge=1, le=MAX_PAGE)] = 1
    per_page: Annotated[int, Field(ge=1, le=MAX_PER_PAGE)] = 20

    @model_validator(mode="after")
    def _ranges_in_order(self):
        for name in ("created", "updated", "resolved"):
            start, end = getattr(self, f"{name}_from"), getattr(self, f"{name}_to")
            if start and end and start > end:
                raise ValueError(f"{name}_from is after {name}_to")
        return self

    def ranges(self):
        """(field, from, to) of every date range asked for."""
        return [(name, getattr(self, f"{name}_from"), getattr(self, f"{name}_to"))
                for name in ("created", "updated", "resolved")
                if getattr(self, f"{name}_from") or getattr(self, f"{name}_to")]


class SavedSearchIn(Payload):
    """A named search an agent keeps; shared with a department, its agents see it too."""
    name: Name
    query: SearchIn
    department_id: Id | None = None
