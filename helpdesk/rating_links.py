"""The rating link in a resolution notice: a signed token naming the ticket, so the customer
rates with one click and no login, and nobody can rate a ticket they were not mailed about.
Notify signs; the gateway checks. Both use the help desk's SECRET_KEY."""
from itsdangerous import BadData, URLSafeTimedSerializer

SALT = "helpdesk.rating"
VALID_DAYS = 90


class InvalidRatingLink(ValueError):
    pass


def _serializer(secret_key):
    return URLSafeTimedSerializer(secret_key, salt=SALT)


def token_for(secret_key, ticket_id):
    return _serializer(secret_key).dumps({"ticket": int(ticket_id)})


def ticket_of(secret_key, token):
    """The ticket a token names; InvalidRatingLink if it was changed or is too old."""
    try:
        data = _serializer(secret_key).loads(token, max_age=VALID_DAYS * 86400)
    except BadData:
        raise InvalidRatingLink("this rating link is not valid or has expired") from None
    if not isinstance(data, dict) or not isinstance(data.get("ticket"), int):
        raise InvalidRatingLink("this rating link is not valid")
    return data["ticket"]


def links(public_url, secret_key, ticket_id):
    """[(score, url)] for 1..5: one click picks the score, the page asks for a comment."""
    url = f"{public_url.rstrip('/')}/rate/{token_for(secret_key, ticket_id)}"
    return url, [(score, f"{url}?score={score}") for score in range(1, 6)]
