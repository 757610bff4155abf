"""Free text as agents type it: words, "phrases", -exclusions; and a search's payload
validated where the search runs, whoever sends it."""
import re
from dataclasses import dataclass

from helpdesk.payloads import parse
from helpdesk.search_payloads import SearchIn
from services.search.documents import fold


@dataclass(frozen=True)
class Words:
    """Free text taken apart: every term and phrase must match, no exclusion may."""
    terms: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()   # words and phrases alike

    def __bool__(self):
        return bool(self.terms or self.phrases)


_PART = re.compile(r'(-?)"([^"]*)"|(-?)(\S+)')
_WORD_CHARS = re.compile(r"[\w@.+-]+")


def words(text):
    """Split free text the way web search boxes do: "a phrase", -word, -"a phrase"."""
    terms, phrases, excluded = [], [], []
    for minus_phrase, phrase, minus, word in _PART.findall(fold(text)):
        if phrase.strip():
            (excluded if minus_phrase else phrases).append(" ".join(phrase.split()))
        elif word and _WORD_CHARS.search(word):
            (excluded if minus else terms).append(word.strip('"'))
    return Words(tuple(terms), tuple(phrases), tuple(excluded))


def search_in(data):
    return parse(SearchIn, data)

