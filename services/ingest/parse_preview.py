"""What the parser and the filters make of a raw mail, as JSON, touching no database:
`helpdesk parse-mail FILE` and the admin's "view raw" answer "why does this mail look
wrong?" and "why did it go there?" with it."""
import base64
import binascii

from helpdesk.errors import InvalidInput
from helpdesk.payloads import RawMailIn, parse as parse_payload
from services.ingest import pipeline
from services.ingest.decisions import Context
from services.ingest.parsing import UnparseableMail, parse


def preview(raw, context=None):
    try:
        mail = parse(raw)
    except UnparseableMail as error:
        return {"error": "UNPARSEABLE", "message": str(error)}
    verdict = pipeline.run(mail, context or Context())
    return {**verdict.mail.as_dict(), "flags": verdict.flags,
            "ticket_id": verdict.ticket_id, "department_id": verdict.department_id,
            "dropped": verdict.dropped,
            "bounce": verdict.bounce.as_dict() if verdict.bounce else None, "trail": [m.as_dict() for m in verdict.trail]}


def submitted(data):
    """The bytes and envelope recipients of a raw mail handed in through the API."""
    payload = parse_payload(RawMailIn, data)
    try:
        content = base64.b64decode(payload.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("INVALID_INPUT", "content_base64 is not valid base64",
                           "content_base64") from None
    return content, payload.envelope_recipients
