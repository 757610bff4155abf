"""What the customer's pages say, in Russian and English. A dict rather than gettext: the
portal has a handful of strings and no translators' workflow yet; the language is the one
the browser prefers of the two."""
from flask import request

LANGUAGES = ("ru", "en")

TEXTS = {
    "en": {
        "title": "Rate our answer",
        "ticket": "Ticket %s",
        "question": "How satisfied are you with how we handled your request?",
        "scores": {1: "1 — poor", 2: "2", 3: "3", 4: "4", 5: "5 — excellent"},
        "comment": "Anything you want to tell us (optional)",
        "send": "Send",
        "thanks_title": "Thank you",
        "thanks": "Thank you for rating ticket %s. Your opinion helps us get better.",
        "change": "Changed your mind? Open the link from the mail again to change the rating.",
        "problem_title": "Cannot rate",
        "invalid_link": "This rating link is not valid or has expired. Please use the link "
                        "from the latest mail about your request, or simply reply to that mail.",
        "invalid_form": "This form is not valid any more. Please open the rating link from "
                        "the mail again.",
        "not_resolved": "Ticket %s is not resolved at the moment, so it cannot be rated yet. "
                        "You will get a new link when it is resolved.",
        "no_ticket": "Ticket %s no longer exists.",
        "choose_score": "Please choose a score from 1 to 5.",
        "comment_too_long": "The comment is too long: at most %s characters, please.",
        "unavailable": "The help desk cannot record ratings at the moment. Please try again "
                       "in a few minutes.",
        "failed": "Something went wrong on our side. Please try again later.",
    },
    "ru": {
        "title": "Оцените наш ответ",
        "ticket": "Обращение %s",
        "question": "Насколько вы довольны тем, как мы решили ваш вопрос?",
        "scores": {1: "1 — плохо", 2: "2", 3: "3", 4: "4", 5: "5 — отлично"},
        "comment": "Комментарий (необязательно)",
        "send": "Отправить",
        "thanks_title": "Спасибо",
        "thanks": "Спасибо за оценку обращения %s. Ваше мнение помогает нам работать лучше.",
        "change": "Передумали? Откройте ссылку из письма ещё раз, чтобы изменить оценку.",
        "problem_title": "Оценить не получилось",
        "invalid_link": "Эта ссылка для оценки недействительна или устарела. Воспользуйтесь "
                        "ссылкой из последнего письма по вашему обращению или просто ответьте "
                        "на это письмо.",
        "invalid_form": "Эта форма устарела. Откройте, пожалуйста, ссылку из письма ещё раз.",
        "not_resolved": "Обращение %s сейчас не решено, поэтому его пока нельзя оценить. "
                        "Когда оно будет решено, вы получите новую ссылку.",
        "no_ticket": "Обращения %s больше нет.",
        "choose_score": "Выберите, пожалуйста, оценку от 1 до 5.",
        "comment_too_long": "Комментарий слишком длинный: не больше %s символов, пожалуйста.",
        "unavailable": "Сейчас оценку сохранить не удаётся. Попробуйте, пожалуйста, через "
                       "несколько минут.",
        "failed": "У нас что-то пошло не так. Попробуйте, пожалуйста, позже.",
    },
}


def language():
    """ru when the browser prefers Russian to English, else en."""
    return request.accept_languages.best_match(("ru", "en"), default="en")


def for_page():
    """(language, its texts, say) for this request: say(key, value) is the text with the
    value (a ticket number, a limit) put in."""
    chosen = language()
    strings = TEXTS[chosen]
    return chosen, strings, lambda key, value="": _fill(strings[key], value)


def _fill(text, value):
    return text % value if "%s" in text else text
