"""The Elasticsearch query of one search: the same words and filters as the PostgreSQL
backend's SQL, as a bool query; departments the agent may not see are a filter, so they
reach neither the hits nor the aggregations (the facets)."""
from services.search.backends import MARK_END, MARK_START

FIELDS = {"all": ["subject^2", "subject.en^2", "body", "body.en"],
          "subject": ["subject", "subject.en"], "body": ["body", "body.en"]}
SORT = {"relevance": ["_score", {"updated_at": "desc"}, {"ticket_id": "desc"}],
        "newest": [{"updated_at": "desc"}, {"ticket_id": "desc"}],
        "oldest": [{"updated_at": "asc"}, {"ticket_id": "asc"}]}
MESSAGE_FIELDS = ["body", "body.en", "attachment_names", "attachment_names.en"]


def text_clauses(words, fields):
    """(must, must_not): every term and phrase in some field in either language, no
    exclusion anywhere. A term of stop words alone narrows nothing (zero_terms_query all),
    but words of stop words alone find nothing (the last clause)."""
    must = [{"multi_match": {"query": term, "fields": fields, "type": "best_fields",
                             "operator": "and", "zero_terms_query": "all"}}
            for term in words.terms]
    must += [{"multi_match": {"query": phrase, "fields": fields, "type": "phrase",
                              "zero_terms_query": "all"}} for phrase in words.phrases]
    if words:
        must.append({"multi_match": {"query": " ".join(words.terms + words.phrases),
                                     "fields": fields, "operator": "or",
                                     "zero_terms_query": "none"}})
    must_not = [{"multi_match": {"query": excluded, "fields": fields,
                                 "type": "phrase" if " " in excluded else "best_fields",
                                 "operator": "and"}} for excluded in words.excluded]
    return must, must_not


def filters(query, visible_departments):
    found = []
    if visible_departments is not None:
        found.append({"terms": {"department_id": sorted(visible_departments)}})
    for field, values in (("department_id", query.department_ids),
                          ("status", [str(s) for s in query.statuses]),
                          ("priority", [str(p) for p in query.priorities])):
        if values:
            found.append({"terms": {field: values}})
    for field, value in (("agent_ids", query.agent_id), ("recipients", query.recipient),
                         ("senders", query.sender), ("customer_email", query.customer)):
        if value:
            found.append({"term": {field: value}})
    for name, start, end in query.ranges():
        bounds = {}
        if start:
            bounds["gte"] = start.isoformat()
        if end:
            bounds["lt"] = end.isoformat()
        found.append({"range": {f"{name}_at": bounds}})
    return found


def search_body(query, words, visible_departments):
    must, must_not = text_clauses(words, FIELDS[query.within])
    sort = query.sort if words or query.sort != "relevance" else "newest"
    body = {"query": {"bool": {"filter": filters(query, visible_departments), "must": must,
                               "must_not": must_not}},
            "sort": SORT[sort], "from_": (query.page - 1) * query.per_page,
            "size": query.per_page, "track_total_hits": True,
            "aggs": {"department": {"terms": {"field": "department_id", "size": 1000}},
                     "status": {"terms": {"field": "status", "size": 10}}}}
    if words:
        body["highlight"] = {"pre_tags": [MARK_START], "post_tags": [MARK_END],
                             "fields": {"subject": {"number_of_fragments": 0},
                                        "subject.en": {"number_of_fragments": 0}}}
        body["track_scores"] = True
    return body


def snippet_body(ticket_ids, words):
    """The best-matching message of each ticket on the page, its matches marked."""
    must, _ = text_clauses(words, MESSAGE_FIELDS)
    return {"query": {"bool": {"filter": [{"terms": {"ticket_id": ticket_ids}}],
                               "must": must}},
            "collapse": {"field": "ticket_id"}, "size": len(ticket_ids),
            "sort": ["_score", {"created_at": "desc"}],
            "highlight": {"pre_tags": [MARK_START], "post_tags": [MARK_END],
                          "fragment_size": 160, "number_of_fragments": 2,
                          "fields": {field: {} for field in MESSAGE_FIELDS}}}
