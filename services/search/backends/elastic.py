"""Elasticsearch through the official client: a ticket index and a message index, each a
versioned index behind an alias (a rebuild fills new ones and swaps both aliases in one
atomic call). Documents carry the ticket's version as an external version, so Elasticsearch
itself refuses an older one."""
import time
from datetime import datetime, timezone

from elasticsearch import Elasticsearch, NotFoundError, helpers

from services.search.backends import SearchBackend, safe_snippet
from services.search.backends import elastic_mappings as mappings
from services.search.backends.elastic_query import search_body, snippet_body

CONFLICT = 409


class ElasticsearchBackend(SearchBackend):
    name = "elasticsearch"

    def __init__(self, client, alias):
        self.client, self.alias, self.messages_alias = client, alias, f"{alias}-messages"
        self.target = None  # the stamp of the indexes a rebuild is filling
        self.ready = False

    @classmethod
    def from_config(cls, config):
        url = config.get("ELASTICSEARCH_URL")
        if not url:
            raise ValueError("SEARCH_BACKEND is elasticsearch but ELASTICSEARCH_URL is not set")
        return cls(Elasticsearch(url, request_timeout=30, retry_on_timeout=True),
                   config.get("ELASTICSEARCH_INDEX") or "helpdesk-tickets")

    def close(self):
        self.client.close()

    # --- indexes ----------------------------------------------------------------------------
    def ensure(self):
        """The templates, and an index behind each alias (made on first use)."""
        if self.ready:
            return
        self.client.indices.put_index_template(
            name=self.alias, **mappings.template(f"{self.alias}-v*",
                                                 mappings.TICKET_PROPERTIES, ["body"]))
        self.client.indices.put_index_template(
            name=self.messages_alias, **mappings.template(f"{self.messages_alias}-v*",
                                                          mappings.MESSAGE_PROPERTIES))
        if not self.client.indices.exists_alias(name=self.alias):
            self._create(_stamp(), aliased=True)
        self.ready = True

    def _indexes(self, stamp):
        return f"{self.alias}-v{stamp}", f"{self.messages_alias}-v{stamp}"

    def _create(self, stamp, aliased):
        tickets, messages = self._indexes(stamp)
        for index, alias in ((tickets, self.alias), (messages, self.messages_alias)):
            self.client.indices.create(index=index, aliases={alias: {}} if aliased else None)

    def _behind(self, alias):
        try:
            return sorted(self.client.indices.get_alias(name=alias))
        except NotFoundError:
            return []

    def clear(self):
        for alias in (self.alias, self.messages_alias):
            for index in self._behind(alias):
                self.client.indices.delete(index=index, ignore_unavailable=True)
        self.ready = False
        self.ensure()

    # --- writing ----------------------------------------------------------------------------
    def store(self, documents, rebuilding=False):
        if not documents:
            return []
        self.ensure()
        if rebuilding:
            tickets, messages = self._indexes(self.target)
            return self._write(documents, tickets, messages, "external_gte", refresh=False)
        applied = self._write(documents, self.alias, self.messages_alias, "external",
                              refresh="wait_for")
        if self.target:  # a rebuild is running: it must not miss what changed meanwhile
            self._write(documents, *self._indexes(self.target), "external_gte", refresh=False)
        return applied

    def _write(self, documents, tickets_index, messages_index, version_type, refresh):
        actions = [{"_op_type": "index", "_index": tickets_index, "_id": d.ticket_id,
                    "version": d.version, "version_type": version_type,
                    "_source": _ticket_source(d)} for d in documents]
        applied = self._bulk(actions, refresh)
        kept = [d for d in documents if d.ticket_id in applied]
        if kept:
            self._bulk([{"_op_type": "index", "_index": messages_index, "_id": m.message_id,
                         "version": d.version, "version_type": version_type,
                         "_source": _message_source(m, d.version)}
                        for d in kept for m in d.messages], refresh)
            for document in kept:  # messages split or merged away belong elsewhere now
                self.client.delete_by_query(
                    index=messages_index, conflicts="proceed", refresh=bool(refresh),
                    query={"bool": {"filter": [
                        {"term": {"ticket_id": document.ticket_id}},
                        {"range": {"version": {"lt": document.version}}}],
                        "must_not": [{"ids": {"values": [str(m.message_id)
                                                         for m in document.messages]}}]}})
        return sorted(applied)

    def _bulk(self, actions, refresh):
        """The ids written; a version conflict means a newer document is already there."""
        if not actions:
            return set()
        _, errors = helpers.bulk(self.client, actions, raise_on_error=False,
                                 refresh=refresh or False)
        refused = set()
        for error in errors:
            item = next(iter(error.values()))
            if item.get("status") != CONFLICT:
                raise RuntimeError(f"Elasticsearch refused document {item.get('_id')}: "
                                   f"{item.get('error')}")
            refused.add(int(item["_id"]))
        return {int(action["_id"]) for action in actions} - refused

    # --- rebuilding -------------------------------------------------------------------------
    def begin_rebuild(self):
        self.ensure()
        stamp = _stamp()
        self._create(stamp, aliased=False)
        return stamp

    def rebuilding_into(self, target):
        self.target = target

    def finish_rebuild(self, target, started_at):
        tickets, messages = self._indexes(target)
        self.client.indices.refresh(index=[tickets, messages])
        old = {alias: self._behind(alias) for alias in (self.alias, self.messages_alias)}
        actions = [{"remove": {"index": index, "alias": alias}}
                   for alias, indexes in old.items() for index in indexes]
        actions += [{"add": {"index": tickets, "alias": self.alias}},
                    {"add": {"index": messages, "alias": self.messages_alias}}]
        self.client.indices.update_aliases(actions=actions)  # atomic: both or neither
        for indexes in old.values():
            for index in indexes:
                if index not in (tickets, messages):
                    self.client.indices.delete(index=index, ignore_unavailable=True)
        self.target = None

    def health(self):
        status = self.client.cluster.health()["status"]
        return {"backend": self.name, "elasticsearch": "ok" if status != "red" else status}

    # --- searching --------------------------------------------------------------------------
    def search(self, query, words, visible_departments):
        if visible_departments is not None and not visible_departments:
            return {"total": 0, "hits": [], "facets": {"department": {}, "status": {}}}
        self.ensure()
        answer = self.client.search(index=self.alias,
                                    **search_body(query, words, visible_departments))
        aggregations = answer["aggregations"]
        hits = answer["hits"]["hits"]
        snippets = self._snippets([int(hit["_id"]) for hit in hits], query, words) \
            if hits and words else {}
        return {"total": answer["hits"]["total"]["value"],
                "hits": [_hit(hit, query.sort, snippets.get(int(hit["_id"]))) for hit in hits],
                "facets": {name: {str(bucket["key"]): bucket["doc_count"]
                                  for bucket in aggregations[name]["buckets"]}
                           for name in ("department", "status")}}

    def _snippets(self, ticket_ids, query, words):
        answer = self.client.search(index=self.messages_alias,
                                    **snippet_body(ticket_ids, words))
        found = {}
        for hit in answer["hits"]["hits"]:
            source, marked = hit["_source"], hit.get("highlight", {})
            fragments = marked.get("body") or marked.get("body.en") or \
                marked.get("attachment_names") or [source["body"][:200]]
            found[source["ticket_id"]] = {
                "message_id": source["message_id"], "direction": source["direction"],
                "author_kind": source["author_kind"], "author_name": source["author_name"],
                "created_at": source["created_at"],
                "snippet": safe_snippet(" … ".join(fragments))}
        return found


def _stamp():
    return datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S") + f"{time.time_ns() % 1000:03d}"


def _time(value):
    return value.isoformat() if value else None


def _ticket_source(document):
    return {"ticket_id": document.ticket_id, "version": document.version,
            "department_id": document.department_id, "status": document.status,
            "priority": document.priority, "channel": document.channel,
            "assignee_id": document.assignee_id, "assignee_name": document.assignee_name,
            "customer_id": document.customer_id, "customer_name": document.customer_name,
            "customer_email": document.customer_email, "subject": document.subject,
            "body": document.body, "agent_ids": document.agent_ids,
            "senders": document.senders, "recipients": document.recipients,
            "created_at": _time(document.created_at), "updated_at": _time(document.updated_at),
            "resolved_at": _time(document.resolved_at)}


def _message_source(message, version):
    return {"message_id": message.message_id, "ticket_id": message.ticket_id,
            "version": version, "direction": message.direction,
            "author_kind": message.author_kind, "author_id": message.author_id,
            "author_name": message.author_name, "sender": message.sender,
            "recipients": message.recipients, "subject": message.subject,
            "body": message.body, "attachment_names": message.attachment_names,
            "created_at": _time(message.created_at)}


def _hit(hit, sort, message):
    source = hit["_source"]
    marked = hit.get("highlight", {})
    subject = (marked.get("subject") or marked.get("subject.en") or [None])[0]
    return {"ticket": {"id": source["ticket_id"], "number": source["ticket_id"],
                       **{key: source.get(key) for key in (
                           "subject", "department_id", "status", "priority", "channel",
                           "assignee_id", "assignee_name", "customer_name", "customer_email",
                           "created_at", "updated_at", "resolved_at")}},
            "score": hit["_score"] if sort == "relevance" else None,
            "subject": safe_snippet(subject) if subject else None, "message": message}
