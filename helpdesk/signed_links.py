"""Links in the help desk's mail that are their own permission: a token signed with the help
desk's SECRET_KEY naming one thing (the ticket to rate, the customer whose tickets to show).
Notify signs; the gateway checks. A changed, foreign or expired token is refused."""
from itsdangerous import BadData, URLSafeTimedSerializer


class InvalidLink(ValueError):
    pass


class SignedLink:
    def __init__(self, salt, names, valid_days):
        self.salt, self.names, self.valid_days = salt, names, valid_days

    def token_for(self, secret_key, value):
        return URLSafeTimedSerializer(secret_key, salt=self.salt).dumps({self.names: int(value)})

    def value_of(self, secret_key, token):
        """The id the token names; InvalidLink if it was changed or is too old."""
        try:
            data = URLSafeTimedSerializer(secret_key, salt=self.salt).loads(
                token, max_age=self.valid_days * 86400)
        except BadData:
            raise InvalidLink("this link is not valid or has expired") from None
        if not isinstance(data, dict) or not isinstance(data.get(self.names), int):
            raise InvalidLink("this link is not valid")
        return data[self.names]


RATING = SignedLink("helpdesk.rating", "ticket", valid_days=90)
# The portal link lets whoever holds it read and answer all the customer's tickets, so it
# lives shorter; every acknowledgement carries a fresh one.
PORTAL = SignedLink("helpdesk.portal", "customer", valid_days=30)


def portal_url(public_url, secret_key, customer_id):
    return f"{public_url.rstrip('/')}/portal/enter/{PORTAL.token_for(secret_key, customer_id)}"
