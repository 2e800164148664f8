"""The default mail texts in German and English (Jinja2; the variables are in templates.py)."""

from shared.mail.models import TemplateKind, TemplateText
from shared.webcasts.models import Language

_WHEN_DE = (
    "{% if has_schedule %}Beginn: {{ starts_at }}\nEnde: {{ ends_at }} ({{ time_zone }})\n"
    "Den Termin finden Sie auch im Anhang für Ihren Kalender.\n\n{% endif %}"
)
_WHEN_EN = (
    "{% if has_schedule %}Starts: {{ starts_at }}\nEnds: {{ ends_at }} ({{ time_zone }})\n"
    "The attached calendar file adds the date to your calendar.\n\n{% endif %}"
)
_HELLO_DE = "Guten Tag{% if name %} {{ name }}{% endif %},\n\n"
_HELLO_EN = "Hello{% if name %} {{ name }}{% endif %},\n\n"

DEFAULTS: dict[TemplateKind, dict[Language, TemplateText]] = {
    TemplateKind.invitation: {
        Language.de: TemplateText(
            subject="Einladung: {{ webcast_title }}",
            text=_HELLO_DE
            + "Sie sind zum Webcast „{{ webcast_title }}“ eingeladen.\n\n"
            + _WHEN_DE
            + "Ihr persönlicher Zugang (bitte nicht weitergeben):\n{{ link }}\n\n"
            "{% if single_use %}Der Link gilt für eine Anmeldung "
            "bis {{ link_expires_at }}.{% else %}Der Link gilt bis {{ link_expires_at }}."
            "{% endif %}\n",
        ),
        Language.en: TemplateText(
            subject="Invitation: {{ webcast_title }}",
            text=_HELLO_EN
            + "you are invited to the webcast “{{ webcast_title }}”.\n\n"
            + _WHEN_EN
            + "Your personal access link (please do not share it):\n{{ link }}\n\n"
            "{% if single_use %}The link signs you in once and works until "
            "{{ link_expires_at }}.{% else %}The link works until {{ link_expires_at }}."
            "{% endif %}\n",
        ),
    },
    # The same kind answers a registration for an address that is registered already, so
    # the registration's answer never tells which of the two happened (ADR 0020).
    TemplateKind.confirmation: {
        Language.de: TemplateText(
            subject="Ihre Anmeldung: {{ webcast_title }}",
            text=_HELLO_DE
            + "{% if registered_already %}Sie sind für den Webcast „{{ webcast_title }}“ "
            "bereits angemeldet; an Ihrer Anmeldung hat sich nichts geändert. Wenn Sie sich "
            "nicht gerade noch einmal angemeldet haben, können Sie diese E-Mail ignorieren.\n\n"
            "Mit diesem persönlichen Link kommen Sie direkt hinein:\n{{ link }}\n\n"
            "{% else %}vielen Dank für Ihre Anmeldung zum Webcast „{{ webcast_title }}“. "
            "Bitte bestätigen Sie Ihre E-Mail-Adresse mit diesem persönlichen Link; er bringt "
            "Sie auch direkt hinein:\n{{ link }}\n\n"
            "Wenn Sie sich nicht angemeldet haben, ignorieren Sie diese E-Mail.\n\n{% endif %}"
            + _WHEN_DE
            + "{% if password_generated %}Ein eigenes Passwort legen Sie über "
            "„Passwort vergessen“ fest:\n{{ forgot_password_link }}\n{% endif %}",
        ),
        Language.en: TemplateText(
            subject="Your registration: {{ webcast_title }}",
            text=_HELLO_EN
            + "{% if registered_already %}you are already registered for the webcast "
            "“{{ webcast_title }}”; nothing about your registration has changed. If you did "
            "not just try to register again, ignore this mail.\n\n"
            "This personal link takes you straight in:\n{{ link }}\n\n"
            "{% else %}thank you for registering for the webcast “{{ webcast_title }}”. "
            "Please confirm your e-mail address with this personal link; it also takes you "
            "straight in:\n{{ link }}\n\n"
            "If you did not register, ignore this mail.\n\n{% endif %}"
            + _WHEN_EN
            + "{% if password_generated %}To choose your own password, use "
            "“forgot password”:\n{{ forgot_password_link }}\n{% endif %}",
        ),
    },
    TemplateKind.reminder: {
        Language.de: TemplateText(
            subject="Erinnerung: {{ webcast_title }} beginnt in {{ lead }}",
            text=_HELLO_DE
            + "der Webcast „{{ webcast_title }}“ beginnt in {{ lead }}.\n\n"
            + _WHEN_DE
            + "Ihr persönlicher Zugang:\n{{ link }}\n",
        ),
        Language.en: TemplateText(
            subject="Reminder: {{ webcast_title }} starts in {{ lead }}",
            text=_HELLO_EN
            + "the webcast “{{ webcast_title }}” starts in {{ lead }}.\n\n"
            + _WHEN_EN
            + "Your personal access link:\n{{ link }}\n",
        ),
    },
    TemplateKind.password_reset: {
        Language.de: TemplateText(
            subject="Neues Passwort für {{ webcast_title }}",
            text=_HELLO_DE + "mit diesem Link legen Sie innerhalb von {{ valid_minutes }} Minuten "
            "ein neues Passwort für den Webcast „{{ webcast_title }}“ fest:\n{{ link }}\n\n"
            "Wenn Sie das nicht angefordert haben, ignorieren Sie diese E-Mail.\n",
        ),
        Language.en: TemplateText(
            subject="New password for {{ webcast_title }}",
            text=_HELLO_EN + "use this link within {{ valid_minutes }} minutes to set a new "
            "password for the webcast “{{ webcast_title }}”:\n{{ link }}\n\n"
            "If you did not ask for this, ignore this mail.\n",
        ),
    },
    TemplateKind.erasure: {
        Language.de: TemplateText(
            subject="Löschung Ihrer Daten zu {{ webcast_title }} bestätigen",
            text=_HELLO_DE + "Sie haben die Löschung Ihrer Daten zum Webcast "
            "„{{ webcast_title }}“ verlangt. Mit diesem Link bestätigen Sie sie innerhalb von "
            "{{ valid_minutes }} Minuten:\n{{ link }}\n\n"
            "Wenn Sie das nicht verlangt haben, ignorieren Sie diese E-Mail; "
            "es wird nichts gelöscht.\n",
        ),
        Language.en: TemplateText(
            subject="Confirm the erasure of your data for {{ webcast_title }}",
            text=_HELLO_EN + "you asked for your data for the webcast “{{ webcast_title }}” "
            "to be erased. Confirm it with this link within {{ valid_minutes }} minutes:\n"
            "{{ link }}\n\nIf you did not ask for this, ignore this mail; nothing is erased.\n",
        ),
    },
}

# Added below every participant mail (not editable): the link to one's data (P-claims on
# access and withdrawal must not depend on a customer keeping it in a template).
FOOTER: dict[Language, str] = {
    Language.de: "Ihre Daten einsehen, ändern oder Ihre Einwilligung widerrufen:",
    Language.en: "See or change your data, or withdraw your consent:",
}
