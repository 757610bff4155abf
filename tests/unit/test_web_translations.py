"""Every text of the agent workspace and the customer portal has its Russian translation, and the compiled catalogue
the gateway loads (messages.mo) is the one built from messages.po."""
import io
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

GATEWAY = Path(__file__).resolve().parent.parent.parent / "gateway"
CATALOGUE = GATEWAY / "translations" / "ru" / "LC_MESSAGES"
METHODS = [("web/**.py", "python"), ("portal/**.py", "python"),
           ("templates/web/**.html", "jinja2"), ("templates/portal/**.html", "jinja2")]
KEYWORDS = {"_": None, "__": None, "gettext": None, "lazy_gettext": None,
            "lazy_pgettext": ((1, "c"), 2)}


def texts_in_the_code():
    """{(text, context)}: a status named to a customer is translated apart from an agent's."""
    return {(message, context) for _, _, message, _, context in
            extract_from_dir(str(GATEWAY), METHODS, keywords=KEYWORDS) if message}


def test_every_workspace_text_is_translated_to_russian():
    with (CATALOGUE / "messages.po").open("rb") as po:
        catalogue = read_po(po)
    missing = sorted(text for text, context in texts_in_the_code()
                     if not (catalogue.get(text, context) and catalogue.get(text, context).string))
    assert not missing, f"add these to {CATALOGUE / 'messages.po'}: {missing}"


def test_the_compiled_catalogue_matches_its_source():
    with (CATALOGUE / "messages.po").open("rb") as po:
        source = read_po(po)
    built = io.BytesIO()
    write_mo(built, source)
    built.seek(0)
    with (CATALOGUE / "messages.mo").open("rb") as mo:
        shipped = read_mo(mo)
    assert {m.id: m.string for m in read_mo(built) if m.id} == \
        {m.id: m.string for m in shipped if m.id}, \
        "messages.mo is stale: rebuild it with pybabel compile -d gateway/translations"
