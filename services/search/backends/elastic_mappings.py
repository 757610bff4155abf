"""The Elasticsearch index template: Russian and English analysers (stemming, stop words of
both languages, ё read as е) on every text field, keyword fields for filters. Tickets and
messages live in two indexes, each a versioned index behind an alias."""

ANALYSIS = {
    "char_filter": {"yo_as_ye": {"type": "mapping", "mappings": ["ё => е", "Ё => Е"]}},
    "filter": {
        # both lists in both analysers: "и" and "the" narrow nothing in either language
        "russian_stop": {"type": "stop", "stopwords": "_russian_"},
        "english_stop": {"type": "stop", "stopwords": "_english_"},
        "russian_stemmer": {"type": "stemmer", "language": "russian"},
        "english_stemmer": {"type": "stemmer", "language": "english"},
        "english_possessive": {"type": "stemmer", "language": "possessive_english"},
    },
    "analyzer": {
        "ru": {"type": "custom", "tokenizer": "standard", "char_filter": ["yo_as_ye"],
               "filter": ["lowercase", "russian_stop", "english_stop", "russian_stemmer"]},
        "en": {"type": "custom", "tokenizer": "standard", "char_filter": ["yo_as_ye"],
               "filter": ["english_possessive", "lowercase", "russian_stop", "english_stop",
                          "english_stemmer"]},
    },
}

TEXT = {"type": "text", "analyzer": "ru", "fields": {"en": {"type": "text", "analyzer": "en"}}}
KEYWORD = {"type": "keyword"}
DATE = {"type": "date"}

TICKET_PROPERTIES = {
    "ticket_id": {"type": "long"}, "version": {"type": "long"},
    "department_id": {"type": "integer"}, "status": KEYWORD, "priority": KEYWORD,
    "channel": KEYWORD, "assignee_id": {"type": "integer"}, "assignee_name": TEXT,
    "customer_id": {"type": "integer"}, "customer_name": TEXT, "customer_email": KEYWORD,
    "subject": TEXT, "body": TEXT, "agent_ids": {"type": "integer"}, "senders": KEYWORD,
    "recipients": KEYWORD, "created_at": DATE, "updated_at": DATE, "resolved_at": DATE,
}
MESSAGE_PROPERTIES = {
    "message_id": {"type": "long"}, "ticket_id": {"type": "long"}, "version": {"type": "long"},
    "direction": KEYWORD, "author_kind": KEYWORD, "author_id": {"type": "integer"},
    "author_name": {"type": "keyword"}, "sender": KEYWORD, "recipients": KEYWORD,
    "subject": TEXT, "body": TEXT, "attachment_names": TEXT, "created_at": DATE,
}


def template(pattern, properties, unstored=()):
    """An index template for every versioned index of one alias; `unstored` fields are
    indexed but not kept in _source (the ticket database has them)."""
    return {"index_patterns": [pattern], "priority": 200, "template": {
        "settings": {"analysis": ANALYSIS},
        "mappings": {"dynamic": "strict", "_source": {"excludes": list(unstored)},
                     "properties": properties}}}
