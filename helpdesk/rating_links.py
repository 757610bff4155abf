"""The rating link in a resolution notice: a signed token naming the ticket, so the customer
rates with one click and no login, and nobody can rate a ticket they were not mailed about."""
from helpdesk.signed_links import RATING, InvalidLink

InvalidRatingLink = InvalidLink


def token_for(secret_key, ticket_id):
    return RATING.token_for(secret_key, ticket_id)


def ticket_of(secret_key, token):
    """The ticket a token names; InvalidRatingLink if it was changed or is too old."""
    return RATING.value_of(secret_key, token)


def links(public_url, secret_key, ticket_id):
    """[(score, url)] for 1..5: one click picks the score, the page asks for a comment."""
    url = f"{public_url.rstrip('/')}/rate/{token_for(secret_key, ticket_id)}"
    return url, [(score, f"{url}?score={score}") for score in range(1, 6)]
